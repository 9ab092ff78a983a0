/*
 * cmds.h - entry points of the chanctl commands, one cmd_<name>.c each.
 */
#ifndef CHANCTL_CMDS_H
#define CHANCTL_CMDS_H

int cmd_validate(int argc, char **argv);
int cmd_compat(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_acl(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_consumer(int argc, char **argv);
int cmd_docs(int argc, char **argv);

#endif
