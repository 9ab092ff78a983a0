"""test_ci_templates.py - the pipelines of deploy/ci/ and the pre-commit hook,
run as written against a temporary repository of contracts.

A repository (git) holds copies of the example contracts and schemas; a
real chanregd on SQLite is the registry, with a ci token for the teams of
those contracts.  For each pipeline file the test reads the jobs that run on
a merge request (pull request) and on a merge to the default branch, and runs
every shell command of those jobs, as the file writes it, with the built
chanctl on PATH and the variables the file declares:

- merge request with valid contracts: every command succeeds, the Code
  Quality report is an empty list, and nothing is registered (the plan is a
  dry run);
- merge request with a broken contract: the job fails, and the GitLab report
  names the file and line;
- merge to main: the contracts are registered (checked over REST) and the
  knowledge-base snapshot is written.

`pre-commit try-repo` then runs the hook of .pre-commit-hooks.yaml from this
source tree on the repository, once valid and once with a broken contract.

Run: PYTHONPATH=tests/support CHANCTL=... CHANREGD=... python3 test_ci_templates.py
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import unittest

import yaml

from chanregd import Chanregd, ChanregdTestCase, binary, clean_env, write_token_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
GITLAB = os.path.join(SOURCE, "deploy", "ci", "gitlab-ci.yml")
GITHUB = os.path.join(SOURCE, "deploy", "ci", "github-actions.yml")
HOOKS = os.path.join(SOURCE, ".pre-commit-hooks.yaml")

TEAMS = ("orders", "inventory", "payments", "shipping")
IDENTITIES = {"pipeline": ",".join("ci:" + t for t in TEAMS)}
TOKENS = {"pipeline": "tok-pipeline-" + secrets.token_hex(16)}


def git(repo, *args):
    subprocess.run(["git", "-C", repo] + list(args), check=True, capture_output=True,
                   env=clean_env({"GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.com",
                                  "GIT_COMMITTER_NAME": "ci",
                                  "GIT_COMMITTER_EMAIL": "ci@example.com"}))


def waivered(path):
    """Does the contract file at path carry a compatibility waiver?"""
    if not path.endswith(".yaml"):
        return False
    with open(path, encoding="utf-8") as f:
        return re.search(r"^\s+waiver:", f.read(), re.M) is not None


def gitlab_rule_matches(expr, variables):
    """Evaluate a GitLab `rules: if:` of the form `A == B` where A and B are
    $VARIABLES or "strings" (all the templates use)."""
    m = re.fullmatch(r'\s*(\S+)\s*==\s*(\S+)\s*', expr)
    if not m:
        raise AssertionError("unsupported rule in the template: %r" % expr)

    def value(tok):
        if tok.startswith("$"):
            return variables.get(tok[1:], "")
        return tok.strip('"')
    return value(m.group(1)) == value(m.group(2))


def gitlab_jobs(doc, variables):
    """The jobs of the pipeline for variables, in stage order: [(name, job)]."""
    stages = doc["stages"]
    jobs = [(name, job) for name, job in doc.items()
            if isinstance(job, dict) and "script" in job]
    picked = [(n, j) for n, j in jobs
              if any(gitlab_rule_matches(r["if"], variables) for r in j.get("rules", []))]
    return sorted(picked, key=lambda nj: stages.index(nj[1]["stage"]))


def github_steps(doc, event):
    """The `run:` steps of the jobs that run on event, in `needs` order:
    [(job, step name, command)]."""
    out, done = [], set()
    jobs = doc["jobs"]
    while len(done) < len(jobs):
        progressed = False
        for name, job in jobs.items():
            if name in done:
                continue
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            if not all(n in done for n in needs):
                continue
            done.add(name)
            progressed = True
            cond = job.get("if")
            if cond is not None:
                m = re.fullmatch(r"github\.event_name == '(\w+)'", cond.strip())
                if not m:
                    raise AssertionError("unsupported job condition: %r" % cond)
                if m.group(1) != event:
                    continue
            for step in job["steps"]:
                if "run" in step:
                    out.append((name, step.get("name", ""), step["run"]))
        if not progressed:
            raise AssertionError("circular needs in the workflow")
    return out


class PipelineCase(ChanregdTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chanreg-ci-")
        token_file = write_token_file(self.tmp, IDENTITIES, TOKENS)
        self.d = self.start_daemon("--token-file", token_file, workdir=self.tmp, pg=False,
                                   name="pipeline")
        self.repo = os.path.join(self.tmp, "contracts-repo")
        os.mkdir(self.repo)
        # The example contracts but those whose waiver an admin must approve
        # first (a ci token cannot register them: that is tested elsewhere).
        shutil.copytree(os.path.join(SOURCE, "contracts"), os.path.join(self.repo, "contracts"),
                        ignore=lambda d, names: [n for n in names if waivered(os.path.join(d, n))])
        shutil.copytree(os.path.join(SOURCE, "schemas"), os.path.join(self.repo, "schemas"))
        self.assertGreaterEqual(len(os.listdir(os.path.join(self.repo, "contracts"))), 3)
        git(self.repo, "init", "-q", "-b", "main")
        git(self.repo, "add", ".")
        git(self.repo, "commit", "-q", "-m", "contracts")
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        os.symlink(binary("CHANCTL"), os.path.join(self.bin, "chanctl"))

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def env(self, extra):
        env = clean_env(extra)
        env["PATH"] = self.bin + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        return env

    def run_command(self, command, env):
        return subprocess.run(["bash", "-e", "-c", command], cwd=self.repo, env=self.env(env),
                              capture_output=True, text=True, timeout=120)

    def channels(self):
        reply = self.d.get("/v1/channels")
        self.assertEqual(reply.status, 200, reply)
        return sorted(c["name"] for c in reply.json["channels"])

    def break_contract(self):
        path = os.path.join(self.repo, "contracts", "orders.order-created.yaml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace("    sla_p99_ms: 2000\n", ""))
        git(self.repo, "commit", "-qam", "break it")


class GitLabTest(PipelineCase):
    def pipeline(self, source, branch):
        with open(GITLAB, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        variables = dict(doc.get("variables", {}))
        variables.update({"CI_PIPELINE_SOURCE": source, "CI_COMMIT_BRANCH": branch,
                          "CI_DEFAULT_BRANCH": "main", "CHANREG_URL": self.d.url,
                          "CHANREG_TOKEN": TOKENS["pipeline"]})
        return gitlab_jobs(doc, variables), variables

    def run_job(self, job, variables):
        """Run the job's script; the first failing command ends it.  Returns
        (status of the last command run, its output)."""
        r = None
        for command in job["script"]:
            r = self.run_command(command, variables)
            if r.returncode != 0:
                break
        return r.returncode, r.stdout + r.stderr

    def test_merge_request_then_merge(self):
        jobs, variables = self.pipeline("merge_request_event", "")
        self.assertEqual([n for n, _ in jobs], ["contracts-validate"])
        status, out = self.run_job(jobs[0][1], variables)
        self.assertEqual(status, 0, out)
        with open(os.path.join(self.repo, "gl-code-quality-report.json")) as f:
            self.assertEqual(json.load(f), [])
        self.assertEqual(jobs[0][1]["artifacts"]["reports"]["codequality"],
                         "gl-code-quality-report.json")
        self.assertEqual(self.channels(), [], "a merge request must not register anything")

        jobs, variables = self.pipeline("push", "main")
        self.assertEqual([n for n, _ in jobs], ["contracts-validate", "contracts-register",
                                                "pages"])
        for name, job in jobs:
            status, out = self.run_job(job, variables)
            self.assertEqual(status, 0, "%s: %s" % (name, out))
        self.assertEqual(self.channels(), sorted(
            f[:-5] for f in os.listdir(os.path.join(self.repo, "contracts"))))
        site = os.path.join(self.repo, "public")
        self.assertTrue(os.path.isfile(os.path.join(site, "index.html")))
        self.assertTrue(os.path.isfile(
            os.path.join(site, "channels", "orders.order-created.html")))

    def test_broken_merge_request_fails_with_a_report(self):
        self.break_contract()
        jobs, variables = self.pipeline("merge_request_event", "")
        status, out = self.run_job(jobs[0][1], variables)
        self.assertEqual(status, 1, out)
        self.assertRegex(out, r"contracts/orders\.order-created\.yaml:\d+:\d+: error:")
        with open(os.path.join(self.repo, "gl-code-quality-report.json")) as f:
            report = json.load(f)
        self.assertTrue(report)
        issue = report[0]
        self.assertEqual(issue["location"]["path"], "contracts/orders.order-created.yaml")
        self.assertGreater(issue["location"]["positions"]["begin"]["line"], 1)
        self.assertEqual(issue["severity"], "critical")
        self.assertRegex(issue["fingerprint"], r"^[0-9a-f]{64}$")
        self.assertIn("sla_p99_ms", issue["description"])
        self.assertEqual(self.channels(), [])


class GitHubTest(PipelineCase):
    def steps(self, event):
        with open(GITHUB, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        values = {"${{ vars.CHANREG_URL }}": self.d.url,
                  "${{ secrets.CHANREG_TOKEN }}": TOKENS["pipeline"]}
        env = {k: values.get(v, v) for k, v in doc["env"].items()}
        for k, v in env.items():
            self.assertNotIn("${{", v, "unknown expression in env %s" % k)
        return github_steps(doc, event), env

    def run_steps(self, steps, env):
        for job, name, command in steps:
            r = self.run_command(command, env)
            if r.returncode != 0:
                return r.returncode, "%s / %s: %s%s" % (job, name, r.stdout, r.stderr)
        return 0, ""

    def test_pull_request_then_push(self):
        steps, env = self.steps("pull_request")
        self.assertEqual({job for job, _, _ in steps}, {"validate"})
        status, out = self.run_steps(steps, env)
        self.assertEqual(status, 0, out)
        self.assertEqual(self.channels(), [])

        steps, env = self.steps("push")
        self.assertEqual([job for job, _, _ in steps][-1], "register")
        status, out = self.run_steps(steps, env)
        self.assertEqual(status, 0, out)
        self.assertEqual(self.channels(), sorted(
            f[:-5] for f in os.listdir(os.path.join(self.repo, "contracts"))))
        self.assertTrue(os.path.isfile(os.path.join(self.repo, "site", "index.html")))

    def test_broken_pull_request_annotates_and_fails(self):
        self.break_contract()
        steps, env = self.steps("pull_request")
        job, name, command = steps[0]
        r = self.run_command(command, env)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout,
                         r"::error file=contracts/orders\.order-created\.yaml,line=\d+,col=\d+")


class PreCommitTest(PipelineCase):
    def try_repo(self):
        env = {"PRE_COMMIT_HOME": os.path.join(self.tmp, "pre-commit-home"),
               "HOME": self.tmp}
        with open(HOOKS, encoding="utf-8") as f:
            hook = yaml.safe_load(f)[0]["id"]
        return subprocess.run(["pre-commit", "try-repo", SOURCE, hook, "--all-files"],
                              cwd=self.repo, env=self.env(env), capture_output=True, text=True,
                              timeout=300)

    def test_hook_passes_then_fails(self):
        r = self.try_repo()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"chanctl validate\.+Passed")
        self.break_contract()
        r = self.try_repo()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"chanctl validate\.+Failed")
        self.assertRegex(r.stdout, r"contracts/orders\.order-created\.yaml:\d+:\d+: error:")


if __name__ == "__main__":
    unittest.main(verbosity=2)
