/*
 * check_contract.c - drives cli_registry_check_contract, the registry check
 * behind `chanctl validate --registry URL`, for test_registry.py.
 *
 * Usage: cli_check_contract URL CONTRACT_FILE
 *
 * Loads the contract (with its schemas), asks the registry, and prints one
 * line per diagnostic ("LINE:COL: RULE: MESSAGE") and then "new: N", the
 * number of versions the registry does not have yet.  Exit status: 0 no
 * diagnostics, 1 diagnostics, 2 usage or invalid contract, 3 request failed.
 */
#include <stdio.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "registry_client.h"

int main(int argc, char **argv)
{
    chan_contract *contract = NULL;
    chan_diag_list *diags = chan_diag_list_new();
    cli_registry_options opts = CLI_REGISTRY_OPTIONS_INIT;
    cli_registry *reg = NULL;
    chan_error err = CHAN_ERROR_INIT;
    size_t i, n_new = 0;
    int rc = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: %s URL CONTRACT_FILE\n", argv[0]);
        rc = 2;
        goto cleanup;
    }
    if (chan_contract_load(&contract, argv[2], NULL, diags, &err) < 0) {
        fprintf(stderr, "%s: invalid contract: %s\n", argv[2], err.message);
        rc = 2;
        goto cleanup;
    }
    chan_diag_list_free(diags);
    diags = chan_diag_list_new(); /* warnings of the load are not the registry's */
    opts.url = argv[1];
    if (cli_registry_new(&reg, &opts, &err) < 0 ||
        cli_registry_check_contract(&n_new, reg, contract, diags, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.message);
        rc = 3;
        goto cleanup;
    }
    for (i = 0; i < chan_diag_list_count(diags); i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);

        printf("%d:%d: %s: %s\n", d->line, d->column, d->rule ? d->rule : "-", d->message);
    }
    printf("new: %zu\n", n_new);
    rc = chan_diag_list_count(diags) > 0 ? 1 : 0;

cleanup:
    cli_registry_free(reg);
    chan_contract_free(contract);
    chan_diag_list_free(diags);
    return rc;
}
