"""Registering from a spec file, a folder, a zip package and a git repository; immutability;
bad sources refused with the catalogue unchanged."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from registry_helpers import Cli, Json, MakeModule

from runner.registry.sources import GIT_REPOSITORY_VARIABLES


def listed(run_json: Json) -> dict[str, dict[str, object]]:
    modules = run_json("module", "list", "--all")["modules"]
    return {m["name"]: m for m in modules}


def test_register_a_folder_freezes_the_snapshot(
    make_module: MakeModule, run_json: Json, run_cli: Cli, registry_dir: Path
) -> None:
    spec = make_module()
    done = run_json("module", "register", spec.parent)
    assert done["status"] == "registered"
    assert (done["name"], done["version"], done["default"]) == ("echo", "1.0.0", True)
    assert done["source"] == {"kind": "folder", "location": str(spec.parent), "spec": "echo.yaml"}
    # Later edits to the working copy change nothing in the registered version.
    (spec.parent / "src" / "main.py").write_text("raise SystemExit('edited')\n")
    (spec.parent.parent / "shared" / "helper.py").unlink()
    code, out, err = run_cli("run", "echo", "-i", "text=hi", "--json")
    assert code == 0, err
    said = Path(__import__("json").loads(out)["outputs"]["out"], "said.txt").read_text()
    assert said == "HI v1"
    shown = run_json("module", "show", "echo")
    assert shown["registered"]["default"] is True
    assert shown["registered"]["status"] == "enabled"
    assert shown["registered"]["snapshot_digest"] == done["snapshot"]
    assert shown["registered"]["source"]["kind"] == "folder"
    assert shown["registered"]["registered_at"].endswith("+00:00")
    assert [i["python_name"] for i in shown["inputs"]] == ["text"]
    bundle = Path(shown["source"]).parent
    assert bundle.parent == registry_dir / "checkouts"
    assert sorted(p.name for p in (bundle / "snapshot").iterdir()) == ["helper.py", "main.py"]


def test_same_content_again_is_a_noop_and_different_content_is_refused(
    make_module: MakeModule, run_json: Json, run_cli: Cli
) -> None:
    spec = make_module()
    first = run_json("module", "register", spec)
    again = run_json("module", "register", spec)
    assert again["status"] == "unchanged"
    assert again["digest"] == first["digest"]
    code, out, _ = run_cli("module", "register", spec)
    assert code == 0 and "already registered with this content" in out
    (spec.parent / "src" / "main.py").write_text("print('changed')\n")
    (spec.parent / "src" / "extra.py").write_text("")
    code, _, err = run_cli("module", "register", spec)
    assert code == 2
    assert "echo 1.0.0 is already registered with different content" in err
    assert "snapshot/main.py (changed)" in err
    assert "snapshot/extra.py (added)" in err
    assert "new version" in err
    assert listed(run_json)["echo"]["versions"] == ["1.0.0"]


def test_first_version_is_default_until_another_is_set(
    make_module: MakeModule, run_json: Json, run_cli: Cli
) -> None:
    run_json("module", "register", make_module(version="1.0.0", tag="v1"))
    second = run_json("module", "register", make_module(version="1.10.0", tag="v110"))
    assert second["default"] is False
    assert listed(run_json)["echo"]["default_version"] == "1.0.0"
    third = run_json("module", "register", make_module(version="1.2.0", tag="v12"), "--set-default")
    assert third["default"] is True
    module = listed(run_json)["echo"]
    assert module["default_version"] == "1.2.0"
    assert module["versions"] == ["1.0.0", "1.2.0", "1.10.0"]  # natural order
    assert run_json("module", "set-default", "echo", "1.10.0")["default_version"] == "1.10.0"
    code, _, err = run_cli("module", "set-default", "echo", "9.9")
    assert code == 2 and "no version '9.9'" in err and "1.0.0, 1.2.0, 1.10.0" in err


def test_a_folder_with_several_specs_needs_spec_file(
    make_module: MakeModule, run_json: Json, run_cli: Cli
) -> None:
    spec = make_module()
    shutil.copy(spec, spec.with_name("other.yaml"))
    code, _, err = run_cli("module", "register", spec.parent)
    assert code == 2 and "holds 2 module specs: echo.yaml, other.yaml" in err
    assert "--spec-file" in err
    done = run_json("module", "register", spec.parent, "--spec-file", "other.yaml")
    assert done["source"]["spec"] == "other.yaml"


def test_spec_errors_leave_the_catalogue_unchanged(
    make_module: MakeModule, run_json: Json, run_cli: Cli
) -> None:
    spec = make_module()
    spec.write_text(spec.read_text().replace("command:", "comand:"))
    code, _, err = run_cli("module", "register", spec)
    assert code == 2 and "missing required field 'command'" in err and "Traceback" not in err
    unversioned = make_module(name="noversion")
    unversioned.write_text(unversioned.read_text().replace('version: "1.0.0"\n', ""))
    code, _, err = run_cli("module", "register", unversioned)
    assert code == 2 and "it has no version" in err
    assert listed(run_json) == {}


# ---- zip packages -------------------------------------------------------------------------


def zip_folder(
    folder: Path, archive: Path, extra: Callable[[zipfile.ZipFile], None] | None = None
) -> Path:
    with zipfile.ZipFile(archive, "w") as package:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                package.write(path, path.relative_to(folder).as_posix())
        if extra is not None:
            extra(package)
    return archive


def test_register_a_zip_package(make_module: MakeModule, run_json: Json, tmp_path: Path) -> None:
    spec = make_module()
    archive = zip_folder(spec.parent.parent, tmp_path / "echo.zip")
    done = run_json("module", "register", archive, "--subdir", "module")
    assert done["source"] == {
        "kind": "zip",
        "location": str(archive),
        "subdir": "module",
        "spec": "echo.yaml",
    }
    # The same content from its folder is the same version: a no-op.
    assert run_json("module", "register", spec)["status"] == "unchanged"


def _entry(name: str, mode: int = 0o100644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


MALICIOUS = {
    "parent": lambda z: z.writestr(_entry("../escaped.py"), "x"),
    "nested parent": lambda z: z.writestr(_entry("module/../../escaped.py"), "x"),
    "absolute": lambda z: z.writestr(_entry("/tmp/escaped.py"), "x"),
    "backslash parent": lambda z: z.writestr(_entry("..\\escaped.py"), "x"),
    "symlink": lambda z: z.writestr(_entry("module/link", stat.S_IFLNK | 0o777), "/etc/passwd"),
}


@pytest.mark.parametrize("case", list(MALICIOUS))
def test_malicious_zip_entries_are_refused(
    case: str, make_module: MakeModule, run_json: Json, run_cli: Cli, tmp_path: Path
) -> None:
    spec = make_module()
    archive = zip_folder(spec.parent.parent, tmp_path / "evil.zip", MALICIOUS[case])
    code, _, err = run_cli("module", "register", archive, "--subdir", "module")
    assert code == 2, err
    assert "refused: entry" in err and "nothing was registered" in err
    assert listed(run_json) == {}


def test_a_package_whose_spec_reaches_outside_it_is_refused(
    make_module: MakeModule, run_json: Json, run_cli: Cli, tmp_path: Path
) -> None:
    """An include or a conda file of `../../..` would copy the registering user's own files."""
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the registry")
    spec = make_module()
    climb = "../" * (len(spec.parent.parts) + 4)
    spec.write_text(spec.read_text().replace("../shared/helper.py", f"{climb}{secret}"))
    archive = zip_folder(spec.parent.parent, tmp_path / "reaching.zip")
    code, _, err = run_cli("module", "register", archive, "--subdir", "module")
    assert code == 2, err
    assert f"refused: {secret} lies outside the package or repository" in err
    assert listed(run_json) == {}
    # From a folder on the user's own disk, includes may reach anywhere.
    assert run_json("module", "register", spec)["status"] == "registered"


def test_a_file_that_is_not_a_zip_is_refused(run_cli: Cli, tmp_path: Path) -> None:
    fake = tmp_path / "package.zip"
    fake.write_bytes(b"PK\x03\x04 not really")
    code, _, err = run_cli("module", "register", fake)
    assert code == 2 and "not a readable zip package" in err


# ---- git repositories ---------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    # The tests' own repositories, whatever repository the test session runs in (a hook or
    # `git rebase -x` exports GIT_DIR: it must not reach the project's own .git).
    env = {k: v for k, v in os.environ.items() if k not in GIT_REPOSITORY_VARIABLES}
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout.strip()


@pytest.fixture
def repository(make_module: MakeModule, tmp_path: Path) -> Path:
    """A git repository with the module in modules/echo: version 1.0.0 tagged v1, then
    2.0.0 (new code) on the default branch."""
    repo = tmp_path / "repo"
    spec = make_module(folder="repo/modules/echo")
    git(repo, "init", "--quiet")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "v1")
    git(repo, "tag", "v1")
    (spec.parent / "src" / "main.py").write_text(
        (spec.parent / "src" / "main.py").read_text().replace("'v1'", "'v2'")
    )
    spec.write_text(spec.read_text().replace('"1.0.0"', '"2.0.0"'))
    git(repo, "commit", "--quiet", "-am", "v2")
    return repo


def test_register_from_git_at_a_ref_and_subfolder(
    repository: Path, run_json: Json, run_cli: Cli
) -> None:
    tagged = git(repository, "rev-parse", "v1")
    old = run_json(
        "module", "register", repository, "--ref", "v1", "--subdir", "modules/echo/module"
    )
    assert (old["version"], old["source"]["commit"], old["source"]["ref"]) == (
        "1.0.0",
        tagged,
        "v1",
    )
    assert old["source"]["kind"] == "git"
    new = run_json("module", "register", f"file://{repository}", "--subdir", "modules/echo/module")
    assert new["version"] == "2.0.0" and new["source"]["commit"] == git(
        repository, "rev-parse", "HEAD"
    )
    for ref, said in (("echo@1.0.0", "HI v1"), ("echo@2.0.0", "HI v2")):
        code, out, err = run_cli("run", ref, "-i", "text=hi", "--json")
        assert code == 0, err
        outputs = __import__("json").loads(out)["outputs"]
        assert Path(outputs["out"], "said.txt").read_text() == said


def test_register_from_git_inside_a_git_hook(
    repository: Path, run_json: Json, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hook (or `git rebase -x`) exports GIT_DIR and GIT_WORK_TREE for its own repository:
    the clone and checkout must still act on the source, and leave that repository alone."""
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "--quiet")
    before = (outer / ".git" / "config").read_text()
    monkeypatch.setenv("GIT_DIR", str(outer / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(outer))
    done = run_json(
        "module", "register", repository, "--ref", "v1", "--subdir", "modules/echo/module"
    )
    assert done["version"] == "1.0.0"
    assert (outer / ".git" / "config").read_text() == before
    assert not any((outer / ".git" / "refs" / "tags").iterdir())
    assert not (outer / ".git" / "index").exists()


def test_git_sources_that_fail_are_refused(
    repository: Path, run_json: Json, run_cli: Cli, tmp_path: Path
) -> None:
    code, _, err = run_cli("module", "register", f"file://{tmp_path}/missing.git")
    assert code == 2 and "cannot clone" in err
    code, _, err = run_cli("module", "register", repository, "--ref", "no-such-tag")
    assert code == 2 and "cannot check out no-such-tag" in err
    code, _, err = run_cli("module", "register", repository, "--ref", "v1", "--subdir", "nowhere")
    assert code == 2 and "has no folder nowhere" in err
    assert listed(run_json) == {}


def test_what_a_crashed_registration_left_is_swept_after_an_hour(
    make_module: MakeModule, run_json: Json, registry_dir: Path
) -> None:
    old, fresh = registry_dir / "tmp" / "stage-1-old", registry_dir / "tmp" / "stage-2-fresh"
    for folder in (old, fresh):
        (folder / "bundle").mkdir(parents=True)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    run_json("module", "register", make_module())
    assert not old.exists() and fresh.exists()
