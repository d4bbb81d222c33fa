"""The GitHub Action (action.yml) and examples/ci/action-workflow.yml, run as a runner would.

Nothing here talks to GitHub. The action is checked out (copied) into a temporary directory, and
its `run:` steps are run as written by `bash --noprofile --norc -eo pipefail` (the runner's
`shell: bash`), with the `env:` that action.yml gives them, its `${{ }}` expressions resolved
from the inputs (with action.yml's defaults), `runner.temp` and earlier steps' outputs, and real
GITHUB_ACTION_PATH / GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files. The install step installs into
a virtualenv that sees the shared venv's packages (standing in for the one the cache restores)
with PIP_NO_INDEX, so it runs offline; the evaluation step then runs that venv's pytfpol on
examples/cartpole-dqn and examples/cartpole-dqn-run. The `uses:` steps (setup-python, cache,
upload-artifact) are GitHub's own and are only checked as declared.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.helpers.repo import REPO

ACTION = REPO / "action.yml"
WORKFLOW = REPO / "examples" / "ci" / "action-workflow.yml"
EXAMPLE = REPO / "examples" / "cartpole-dqn"
RUN = REPO / "examples" / "cartpole-dqn-run" / "policies"
EARLY = RUN / "checkpoints" / "policy_checkpoint_0000004096"  # about 180 on CartPole, not 500
CHECKOUT = ("action.yml", "ci", "pyproject.toml", "requirements.lock", "README.md", "pytfpol")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
ASKED_INPUTS = {"policy", "env", "episodes", "seed", "gates", "baseline", "extra-args",
                "python-version"}  # fmt: skip


def action() -> dict:
    return yaml.safe_load(ACTION.read_text())


def steps() -> list[dict]:
    return action()["runs"]["steps"]


def step(name_or_id: str) -> dict:
    return next(s for s in steps() if name_or_id in (s.get("id"), s.get("name")))


def read_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs, lines = {}, path.read_text().splitlines() if path.exists() else []
    while lines:
        line = lines.pop(0)
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter)
            outputs[name], lines = "\n".join(lines[:end]), lines[end + 1 :]
        elif line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


@dataclass
class Runner:
    """One job's state: the action's checkout, runner.temp, a workspace, the steps' outputs."""

    checkout: Path
    temp: Path
    workspace: Path
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    runs: int = 0

    def resolve(self, text: str, inputs: dict[str, str]) -> str:
        def value(match: re.Match) -> str:
            expression = match.group(1)
            if expression == "runner.temp":
                return str(self.temp)
            if expression == "steps.python.outputs.python-path":
                return sys.executable  # what setup-python gives: a Python to make the venv
            if expression.startswith("inputs."):
                name = expression[len("inputs.") :]
                return inputs.get(name, action()["inputs"][name].get("default", ""))
            if expression.startswith("steps."):
                _, step_id, _, name = expression.split(".", 3)
                return self.outputs.get(step_id, {}).get(name, "")
            raise AssertionError(f"an expression this runner does not know: {expression}")

        return EXPRESSION.sub(value, text)

    def run(self, step: dict, inputs: dict[str, str], **extra_env: str):
        """Run one `run:` step as the runner does; its exit code, output and outputs."""
        assert step["shell"] == "bash"
        self.runs += 1
        output = self.workspace.parent / f"{self.workspace.name}-output-{self.runs}"
        env = {
            "PATH": "/usr/bin:/bin",  # nothing of the shared venv: the step finds its own Python
            "HOME": str(self.temp),
            "GITHUB_ACTION_PATH": str(self.checkout),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(self.temp / "summary.md"),
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_TEMP": str(self.temp),
            "NO_COLOR": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            **{k: self.resolve(str(v), inputs) for k, v in step.get("env", {}).items()},
            **extra_env,
        }
        script = self.temp / "step.sh"
        script.write_text(step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        outputs = read_outputs(output)
        self.outputs[step.get("id") or str(len(self.outputs))] = outputs
        return done.returncode, done.stdout + done.stderr, outputs

    def evaluate(self, **inputs: str):
        """The evaluation step, with inputs named as in Python (extra_args: extra-args)."""
        return self.run(step("evaluate"), {k.replace("_", "-"): v for k, v in inputs.items()})


def check_out(into: Path) -> Path:
    """The files of the repository the action's steps read, as `uses:` checks them out."""
    into.mkdir()
    for name in CHECKOUT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / name)
    return into


def shared_venv_virtualenv(venv: Path) -> None:
    """A virtualenv without pip whose Python also sees the shared venv's packages (pip
    included): what the cache would restore, made offline."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    shared = sysconfig.get_paths()["purelib"]
    site_packages = next((venv / "lib").glob("python*/site-packages"))
    (site_packages / "shared-venv.pth").write_text(f"import site; site.addsitedir({shared!r})\n")


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> Runner:
    """The action checked out, and pytfpol installed by its own key and install steps."""
    root = tmp_path_factory.mktemp("action")
    job = Runner(check_out(root / "checkout"), root / "temp", root / "workspace")
    job.temp.mkdir()
    job.workspace.mkdir()
    shared_venv_virtualenv(job.temp / "pytfpol-venv")
    code, log, outputs = job.run(step("key"), {})
    assert code == 0 and outputs["key"].startswith("pytfpol-venv-Linux-X64-py3."), log
    code, log, _ = job.run(step("install"), {}, PIP_NO_INDEX="1",
                           PIP_NO_BUILD_ISOLATION="0")  # fmt: skip
    assert code == 0, log
    return job


@pytest.fixture(scope="module")
def baseline(runner) -> tuple[Path, dict[str, str]]:
    """The example policy evaluated by the action with two passing gates: its OUT and outputs."""
    code, log, outputs = runner.evaluate(policy=str(EXAMPLE), env="CartPole-v1", episodes="5",
                                         gates="iqm_return>=400\nmean_return>=400\n",
                                         out="runs/baseline")  # fmt: skip
    assert code == 0, log
    return runner.workspace / "runs" / "baseline", outputs


# ------------------------------------------------------------------------ action.yml itself


@pytest.mark.fast
def test_the_action_is_composite_with_the_inputs_and_outputs_asked_for():
    definition = action()
    assert definition["runs"]["using"] == "composite"
    assert set(definition["inputs"]) >= ASKED_INPUTS
    assert {n for n, i in definition["inputs"].items() if i.get("required")} == {"policy", "env"}
    for name in ("mean", "iqm", "passed", "verdict", "report", "exit-code"):
        assert definition["outputs"][name]["value"] == f"${{{{ steps.evaluate.outputs.{name} }}}}"
    used = [s["uses"] for s in steps() if "uses" in s]
    assert used == ["actions/setup-python@v5", "actions/cache/restore@v4",
                    "actions/cache/save@v4", "actions/upload-artifact@v4"]  # fmt: skip
    assert step("python")["with"]["python-version"] == "${{ inputs.python-version }}"


@pytest.mark.fast
def test_every_run_step_is_a_script_of_the_checkout_run_by_bash():
    for each in steps():
        if "run" in each:
            assert each["shell"] == "bash"
            scripts = re.findall(r'"\$GITHUB_ACTION_PATH/([^"]+)"', each["run"])
            assert scripts and all((REPO / script).is_file() for script in scripts), each["run"]


@pytest.mark.fast
def test_no_run_step_has_an_expression_in_its_text():
    """Inputs reach the scripts through `env:` only: an expression inside `run:` is pasted into
    the script text before the shell reads it, and an input could then run commands."""
    for each in steps():
        assert "${{" not in each.get("run", ""), each["run"]
    passed = {e for v in step("evaluate")["env"].values() for e in EXPRESSION.findall(v)}
    for name in set(action()["inputs"]) - {"python-version", "artifact-name"}:
        assert f"inputs.{name}" in passed, name


@pytest.mark.fast
def test_the_upload_runs_when_the_step_failed_and_uploads_out():
    upload = next(s for s in steps() if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"].startswith("always() && ")  # a failed gate still uploads the report
    assert "steps.evaluate.outputs.report != ''" in upload["if"]
    assert upload["with"]["path"] == "${{ inputs.out }}"
    assert upload["with"]["name"] == "${{ inputs.artifact-name }}"


def test_the_cache_is_keyed_on_the_lock_and_saved_before_the_evaluation(runner, tmp_path):
    restore, save = step("cache"), step("save")
    venv = "${{ runner.temp }}/pytfpol-venv"
    assert restore["with"] == save["with"] == {"path": venv, "key": "${{ steps.key.outputs.key }}"}
    assert step("install")["env"]["PYTFPOL_VENV"] == venv
    assert steps().index(save) < steps().index(step("evaluate"))
    key = runner.outputs["key"]["key"]
    other = Runner(check_out(tmp_path / "checkout"), runner.temp, runner.workspace)
    assert other.run(step("key"), {})[2]["key"] == key
    with open(other.checkout / "requirements.lock", "a") as lock:
        lock.write("extra-package==1.0\n")
    assert other.run(step("key"), {})[2]["key"] != key


# ---------------------------------------------------------------- the steps, run for real


def test_the_install_step_installs_the_checkout_and_holds_to_the_lock(runner, tmp_path):
    venv_python = runner.temp / "pytfpol-venv" / "bin" / "python"
    where = subprocess.run([venv_python, "-c", "import pytfpol; print(pytfpol.__file__)"],
                           capture_output=True, text=True, check=True, env={},
                           cwd=runner.workspace).stdout  # fmt: skip
    assert where.startswith(str(runner.temp / "pytfpol-venv"))  # the checkout, installed
    other = Runner(check_out(tmp_path / "checkout"), runner.temp, runner.workspace)
    lock = other.checkout / "requirements.lock"
    lock.write_text(re.sub(r"(?m)^click==.*$", "click==0.0.1", lock.read_text()))
    code, log, _ = other.run(step("install"), {}, PIP_NO_INDEX="1",
                             PIP_NO_BUILD_ISOLATION="0")  # fmt: skip
    assert code != 0 and "click==0.0.1" in log  # a pin the venv does not hold is installed


def test_the_outputs_are_the_reports_statistics(baseline):
    out, outputs = baseline
    report = json.loads((out / "stats.json").read_text())
    assert float(outputs["mean"]) == report["summary"]["mean_return"]
    assert float(outputs["iqm"]) == report["summary"]["iqm_return"]
    assert outputs["passed"] == "true" and outputs["verdict"] == ""
    assert outputs["exit-code"] == "0" and outputs["report"] == str(out / "stats.json")
    assert [g["gate"] for g in report["gates"]] == ["iqm_return>=400", "mean_return>=400"]
    assert report["settings"]["episodes"] == 5


def test_a_failing_gate_fails_the_step_and_still_writes_the_outputs(runner, baseline):
    code, log, outputs = runner.evaluate(policy=str(EXAMPLE), env="CartPole-v1", episodes="5",
                                         gates="mean_return>=1000; iqm_return>=0",
                                         baseline=str(baseline[0]), out="runs/gate")  # fmt: skip
    assert code == 1, log
    report = json.loads((runner.workspace / "runs" / "gate" / "stats.json").read_text())
    assert [g["passed"] for g in report["gates"]] == [False, True]
    assert float(outputs["mean"]) == report["summary"]["mean_return"]
    assert outputs["passed"] == "false" and outputs["exit-code"] == "1"
    assert outputs["verdict"] == "no significant difference"  # the same policy and seeds


def test_a_candidate_worse_than_the_baseline_fails_the_step(runner, baseline):
    extra = f"--checkpoint '{EARLY}' --plot"
    code, log, outputs = runner.evaluate(policy=str(RUN), env="CartPole-v1", episodes="5",
                                         baseline=str(baseline[0] / "stats.json"),
                                         extra_args=extra, out="runs/worse")  # fmt: skip
    assert code == 1, log
    assert outputs["verdict"] == "worse" and outputs["passed"] == "true"
    assert outputs["exit-code"] == "1"
    report = json.loads((runner.workspace / "runs" / "worse" / "stats.json").read_text())
    summary = report["summary"]  # returns that differ: mean, IQM and median are three numbers
    assert len({summary["mean_return"], summary["iqm_return"], summary["median_return"]}) == 3
    assert float(outputs["mean"]) == summary["mean_return"] < 400
    assert float(outputs["iqm"]) == summary["iqm_return"]
    assert report["policy"]["checkpoint"] == str(EARLY)  # extra-args were passed, as words
    assert (runner.workspace / "runs" / "worse" / "returns.png").is_file()


@pytest.mark.parametrize(
    "inputs",
    [
        {"extra-args": "--seed 1; touch PWNED"},
        {"extra-args": "--seed '1 $(touch PWNED)'"},
        {"extra-args": "--seed `touch PWNED`"},
        {"gates": "iqm_return>=0; touch PWNED"},
        {"env": "CartPole-v1; touch PWNED", "episodes": "$(touch PWNED)"},
    ],
)
def test_no_input_runs_a_command(runner, baseline, inputs):
    """Shell syntax in an input is text pytfpol refuses (exit 2); the step writes no output of
    the report already in OUT."""
    inputs = {"policy": str(EXAMPLE), "env": "CartPole-v1", "out": "runs/baseline", **inputs}
    code, log, outputs = runner.evaluate(**inputs)
    assert code == 2, log
    assert not list(runner.workspace.rglob("PWNED")) and not list(runner.temp.rglob("PWNED"))
    assert outputs == {"exit-code": "2"}


def test_an_input_cannot_add_an_output(runner):
    code, log, outputs = runner.evaluate(policy=str(EXAMPLE), env="CartPole-v1", episodes="5",
                                         out="runs/new\nverdict=better")  # fmt: skip
    assert code == 0, log
    assert outputs["verdict"] == "" and outputs["report"].endswith("new\nverdict=better/stats.json")


def test_unbalanced_quotes_in_extra_args_are_a_usage_error(runner):
    code, log, outputs = runner.evaluate(policy=str(EXAMPLE), env="CartPole-v1",
                                         extra_args="--env-kwargs 'x=1")  # fmt: skip
    assert code == 2 and "extra-args" in log and outputs == {"exit-code": "2"}


# ------------------------------------------------------------------ examples/ci uses it


@pytest.mark.fast
def test_the_example_workflow_gives_the_action_only_its_inputs():
    inputs, outputs = set(action()["inputs"]), set(action()["outputs"])
    workflow = yaml.safe_load(WORKFLOW.read_text())
    uses = [s for s in workflow["jobs"]["evaluate"]["steps"] if s.get("uses") == "./"]
    assert len(uses) == 2
    for each in uses:
        assert set(each["with"]) <= inputs and {"policy", "env"} <= set(each["with"])
    referenced = set(re.findall(r"steps\.\w+\.outputs\.([\w-]+)", WORKFLOW.read_text()))
    assert referenced and referenced <= outputs
    for each in workflow["jobs"]["evaluate"]["steps"]:
        assert "${{" not in each.get("run", "")


def test_the_example_workflow_runs_as_written(runner, tmp_path):
    """Its two action steps, in order, with the inputs as written (fewer episodes): the
    candidate passes its gates and is compared with the baseline the first step reported."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = Runner(runner.checkout, runner.temp, tmp_path / "workspace")
    job.workspace.mkdir()
    (job.workspace / "examples").symlink_to(REPO / "examples")
    for each in workflow["jobs"]["evaluate"]["steps"]:
        if each.get("uses") == "./":
            inputs = {k: job.resolve(str(v), {}) for k, v in each["with"].items()}
            code, log, outputs = job.run(step("evaluate"), {**inputs, "episodes": "5"})
            assert code == 0, log
            job.outputs[each["id"]] = outputs
    candidate = job.outputs["candidate"]
    assert candidate["passed"] == "true" and candidate["verdict"] == "no significant difference"
    stats = json.loads((job.workspace / "runs" / "candidate" / "stats.json").read_text())
    assert [g["gate"] for g in stats["gates"]] == ["iqm_return>=475", "mean_return_ci_low>=450"]
