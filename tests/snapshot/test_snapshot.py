"""The code snapshot: composition, ignore files, symlinks, digest, materialisation."""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from runner.errors import SnapshotError
from runner.snapshot.model import EXEC_MODE, FILE_MODE, SnapshotEntry, SnapshotPlan
from runner.snapshot.plan import plan_snapshot
from runner.snapshot.write import materialize
from runner.spec.model import CodeSpec, Include

ORIGIN = "train.additional_includes"


def write(path: Path, text: str = "x", *, executable: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if executable:
        path.chmod(0o755)
    return path


def code(base: Path, *includes: str, spec_dir: Path | None = None) -> CodeSpec:
    return CodeSpec(
        spec_dir=spec_dir or (base if base.is_dir() else base.parent),
        base=base,
        is_single_file=base.is_file(),
        includes=tuple(
            Include(path, f"{ORIGIN}:{line}") for line, path in enumerate(includes, start=1)
        ),
    )


def paths(plan: SnapshotPlan) -> list[str]:
    return [entry.relpath for entry in plan.entries]


def entry(plan: SnapshotPlan, relpath: str) -> SnapshotEntry:
    return next(item for item in plan.entries if item.relpath == relpath)


def failure(spec: CodeSpec) -> SnapshotError:
    with pytest.raises(SnapshotError) as caught:
        plan_snapshot(spec)
    assert caught.value.hint
    return caught.value


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """components/train holds the spec and code; src/ and assets/ hold shared files."""
    root = tmp_path / "repo"
    write(root / "components/train/train.py", "print('train')\n", executable=True)
    write(root / "components/train/utils/helpers.py", "X = 1\n")
    write(root / "src/lib1/__init__.py", "")
    write(root / "src/lib1/core.py", "CORE = 1\n")
    write(root / "src/lib2/__init__.py", "")
    write(root / "src/lib2/sub/m.py", "M = 1\n")
    write(root / "assets/LICENSE", "MIT\n")
    return root


def train(repo: Path) -> Path:
    return repo / "components/train"


# ---- base -----------------------------------------------------------------------------------


def test_base_folder_holds_every_file_sorted_with_normalised_modes(repo: Path) -> None:
    (train(repo) / "utils/helpers.py").chmod(0o600)
    plan = plan_snapshot(code(train(repo)))
    assert paths(plan) == ["train.py", "utils/helpers.py"]
    assert entry(plan, "train.py").mode == EXEC_MODE
    assert entry(plan, "utils/helpers.py").mode == FILE_MODE
    assert entry(plan, "train.py").source == (train(repo) / "train.py").resolve()
    assert {item.kind for item in plan.entries} == {"file"}
    assert plan.warnings == ()


def test_single_file_code_is_just_that_file(repo: Path) -> None:
    script = train(repo) / "train.py"
    plan = plan_snapshot(code(script, "../../assets/LICENSE"))
    assert paths(plan) == ["LICENSE", "train.py"]


def test_single_file_code_colliding_with_an_include(tmp_path: Path) -> None:
    script = write(tmp_path / "a/run.py")
    write(tmp_path / "b/run.py")
    error = failure(code(script, "../b/run.py"))
    assert error.message == (
        f"{ORIGIN}:1: additional include '../b/run.py' would be placed at 'run.py', "
        f"the name of the code file {script}"
    )


def test_missing_base_folder(tmp_path: Path) -> None:
    spec = CodeSpec(spec_dir=tmp_path, base=tmp_path / "nope")
    assert failure(spec).message == f"code folder {tmp_path / 'nope'} does not exist"


# ---- additional includes --------------------------------------------------------------------


def test_includes_land_at_the_root_under_their_basename(repo: Path) -> None:
    plan = plan_snapshot(code(train(repo), "../../src/lib1/", "../../assets/LICENSE"))
    assert paths(plan) == [
        "LICENSE",
        "lib1/__init__.py",
        "lib1/core.py",
        "train.py",
        "utils/helpers.py",
    ]
    assert entry(plan, "LICENSE").source == (repo / "assets/LICENSE").resolve()


def test_parent_include_takes_the_resolved_folder_name(tmp_path: Path) -> None:
    spec_dir = tmp_path / "shared/a/b/c"
    write(spec_dir / "run.py")
    write(tmp_path / "shared/README", "hi")
    plan = plan_snapshot(code(spec_dir, "../../../"))
    assert "shared/README" in paths(plan)
    assert "shared/a/b/c/run.py" in paths(plan)
    assert "run.py" in paths(plan)


def test_include_that_is_a_symlink_is_resolved_and_keeps_its_written_name(repo: Path) -> None:
    (repo / "src/current").symlink_to("lib1")
    plan = plan_snapshot(code(train(repo), "../../src/current"))
    assert "current/core.py" in paths(plan)
    assert entry(plan, "current/core.py").source == (repo / "src/lib1/core.py").resolve()
    assert any("placed as 'current'" in warning for warning in plan.warnings)


def test_zip_include_copies_an_existing_zip(repo: Path) -> None:
    write(repo / "src/lib2.zip", "not really a zip")
    plan = plan_snapshot(code(train(repo), "../../src/lib2.zip"))
    item = entry(plan, "lib2.zip")
    assert item.kind == "file"
    assert item.source == (repo / "src/lib2.zip").resolve()


def test_zip_include_zips_the_folder_keeping_its_top_folder(repo: Path, tmp_path: Path) -> None:
    plan = plan_snapshot(code(train(repo), "../../src/lib2.zip"))
    item = entry(plan, "lib2.zip")
    assert item.kind == "zip"
    assert item.source is None
    assert item.zip_source == (repo / "src/lib2").resolve()
    materialize(plan, tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "out/lib2.zip") as archive:
        assert archive.namelist() == ["lib2/", "lib2/__init__.py", "lib2/sub/", "lib2/sub/m.py"]
        assert archive.read("lib2/sub/m.py") == b"M = 1\n"
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_zip_include_with_neither_file_nor_folder(repo: Path) -> None:
    error = failure(code(train(repo), "../../src/lib3.zip"))
    spec_dir = train(repo)
    assert error.message == (
        f"{ORIGIN}:1: additional include '../../src/lib3.zip' does not exist: there is "
        f"neither a file {spec_dir / '../../src/lib3.zip'} nor a folder "
        f"{spec_dir / '../../src/lib3'}"
    )


def test_absolute_include_is_refused(repo: Path) -> None:
    absolute = str(repo / "src/lib1")
    error = failure(code(train(repo), absolute))
    assert error.message == f"{ORIGIN}:1: additional include '{absolute}' is an absolute path"
    assert str(train(repo)) in (error.hint or "")


def test_missing_include(repo: Path) -> None:
    error = failure(code(train(repo), "../../nope"))
    assert error.message == (
        f"{ORIGIN}:1: additional include '../../nope' does not exist ({train(repo) / '../../nope'})"
    )


def test_dangling_symlink_include(repo: Path) -> None:
    (repo / "src/gone").symlink_to("nowhere")
    error = failure(code(train(repo), "../../src/gone"))
    assert error.message.startswith(
        f"{ORIGIN}:1: additional include '../../src/gone' is a symlink whose target does not exist"
    )


def test_include_colliding_with_the_base_folder(repo: Path) -> None:
    write(repo / "src/utils/other.py")
    error = failure(code(train(repo), "../../src/utils"))
    assert error.message == (
        f"{ORIGIN}:1: additional include '../../src/utils' would be placed at 'utils', "
        f"which already exists in the code folder ({train(repo).resolve() / 'utils'})"
    )


def test_two_includes_colliding(repo: Path) -> None:
    write(repo / "other/lib1/x.py")
    error = failure(code(train(repo), "../../src/lib1", "../../other/lib1"))
    assert error.message == (
        f"{ORIGIN}:2: additional include '../../other/lib1' and {ORIGIN}:1: additional "
        "include '../../src/lib1' would both be placed at 'lib1'"
    )


def test_base_symlink_standing_in_for_an_include_is_replaced_by_it(repo: Path) -> None:
    (train(repo) / "lib1").symlink_to("../../src/lib1")
    plan = plan_snapshot(code(train(repo), "../../src/lib1"))
    assert entry(plan, "lib1/core.py").kind == "file"
    assert "lib1" not in paths(plan)
    assert plan.warnings == ()


def test_include_ignored_by_the_base_ignore_file_is_dropped_with_a_warning(repo: Path) -> None:
    write(train(repo) / ".amlignore", "LICENSE\n")
    plan = plan_snapshot(code(train(repo), "../../assets/LICENSE"))
    assert "LICENSE" not in paths(plan)
    assert plan.warnings == (
        f"{ORIGIN}:1: additional include '../../assets/LICENSE' is left out of the snapshot: "
        f"{train(repo).resolve() / '.amlignore'} ignores it",
    )


# ---- ignore files ---------------------------------------------------------------------------


def test_amlignore_takes_precedence_over_gitignore(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt"):
        write(tmp_path / name)
    write(tmp_path / ".gitignore", "a.txt\n")
    write(tmp_path / ".amlignore", "b.txt\n")
    assert paths(plan_snapshot(code(tmp_path))) == [".amlignore", ".gitignore", "a.txt"]
    (tmp_path / ".amlignore").unlink()
    assert paths(plan_snapshot(code(tmp_path))) == [".gitignore", "b.txt"]


GITIGNORE_TREE = [
    "keep.py",
    "debug.log",
    "important.log",
    "build/out.bin",
    "pkg/build",  # a file: the dir-only pattern must not match it
    "pkg/build2/x",
    "data/raw.csv",
    "pkg/data/raw.csv",
    "deep/a/b/cache/x",
    "cache/y",
    "excluded/keep.txt",
]
GITIGNORE_RULES = """\
# comment
*.log
!important.log
build/
/data
**/a/**/cache/
excluded/
!excluded/keep.txt
"""
GITIGNORE_KEPT = [
    "cache/y",
    "important.log",
    "keep.py",
    "pkg/build",
    "pkg/build2/x",
    "pkg/data/raw.csv",
]


def test_gitignore_syntax_in_the_base_folder(tmp_path: Path) -> None:
    for name in GITIGNORE_TREE:
        write(tmp_path / name)
    write(tmp_path / ".amlignore", GITIGNORE_RULES)
    # excluded/keep.txt: as in git, nothing comes back from an ignored folder
    assert paths(plan_snapshot(code(tmp_path))) == [".amlignore", *GITIGNORE_KEPT]


def test_base_ignore_file_applies_to_includes_as_placed(tmp_path: Path) -> None:
    base = tmp_path / "base"
    write(base / "run.py")
    write(base / ".amlignore", GITIGNORE_RULES + "lib/pkg/\n")
    for name in GITIGNORE_TREE:
        write(tmp_path / "shared/lib" / name)
    plan = plan_snapshot(code(base, "../shared/lib"))
    # Anchored /data is the snapshot's top level, so lib/data survives; lib/pkg/ is named.
    assert paths(plan) == [
        ".amlignore",
        "lib/cache/y",
        "lib/data/raw.csv",
        "lib/important.log",
        "lib/keep.py",
        "run.py",
    ]


def test_ignore_file_at_an_include_root_applies_relative_to_it(tmp_path: Path) -> None:
    base = tmp_path / "base"
    write(base / "run.py")
    for name in GITIGNORE_TREE:
        write(tmp_path / "shared/lib" / name)
    write(tmp_path / "shared/lib/.gitignore", GITIGNORE_RULES)
    plan = plan_snapshot(code(base, "../shared/lib"))
    assert paths(plan) == [
        "lib/.gitignore",
        *(f"lib/{name}" for name in GITIGNORE_KEPT),
        "run.py",
    ]


def test_nested_ignore_file_overrides_outer_one(tmp_path: Path) -> None:
    write(tmp_path / ".amlignore", "*.csv\n")
    write(tmp_path / "a.csv")
    write(tmp_path / "sub/b.csv")
    write(tmp_path / "sub/c.txt")
    write(tmp_path / "sub/.gitignore", "!b.csv\nc.txt\n")
    assert paths(plan_snapshot(code(tmp_path))) == [".amlignore", "sub/.gitignore", "sub/b.csv"]


def test_zipped_folder_honours_ignore_files(repo: Path, tmp_path: Path) -> None:
    write(repo / "src/lib2/notes.log")
    write(repo / "src/lib2/.amlignore", "sub/\n")
    write(train(repo) / ".amlignore", "*.log\n")
    plan = plan_snapshot(code(train(repo), "../../src/lib2.zip"))
    members = [member.relpath for member in entry(plan, "lib2.zip").members]
    assert members == ["lib2/.amlignore", "lib2/__init__.py"]


def test_git_and_pycache_are_never_in_a_snapshot(tmp_path: Path) -> None:
    write(tmp_path / "run.py")
    write(tmp_path / ".git/config")
    write(tmp_path / "__pycache__/run.cpython-311.pyc")
    write(tmp_path / "sub/__pycache__/x.pyc")
    write(tmp_path / "sub/.git", "gitdir: ../.git/modules/sub")
    write(tmp_path / "legacy.pyc")
    assert paths(plan_snapshot(code(tmp_path))) == ["legacy.pyc", "run.py"]


# ---- symlinks -------------------------------------------------------------------------------


def test_symlink_inside_the_tree_is_kept_relative(tmp_path: Path) -> None:
    write(tmp_path / "data/real.csv")
    write(tmp_path / "run.py")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/rel.csv").symlink_to("../data/real.csv")
    (tmp_path / "sub/abs.csv").symlink_to(tmp_path / "data/real.csv")
    (tmp_path / "datadir").symlink_to("data")
    plan = plan_snapshot(code(tmp_path))
    assert plan.warnings == ()
    assert entry(plan, "sub/rel.csv").link_target == "../data/real.csv"
    assert entry(plan, "sub/abs.csv").link_target == "../data/real.csv"
    assert entry(plan, "datadir").link_target == "data"
    assert entry(plan, "datadir").kind == "symlink"


def test_symlink_outside_dangling_or_ignored_is_skipped_with_a_warning(tmp_path: Path) -> None:
    base = tmp_path / "base"
    write(tmp_path / "secret.txt")
    write(base / "run.py")
    write(base / "ignored.txt")
    write(base / ".amlignore", "ignored.txt\n")
    (base / "out").symlink_to("../secret.txt")
    (base / "dangling").symlink_to("nowhere")
    (base / "toignored").symlink_to("ignored.txt")
    plan = plan_snapshot(code(base))
    assert paths(plan) == [".amlignore", "run.py"]
    warnings = "\n".join(plan.warnings)
    assert "skipped symlink 'out' (-> ../secret.txt): it points outside" in warnings
    assert "skipped symlink 'dangling' (-> nowhere): its target does not exist" in warnings
    assert "skipped symlink 'toignored' (-> ignored.txt)" in warnings


def test_symlink_in_an_include_pointing_into_the_base_is_outside_its_tree(repo: Path) -> None:
    (repo / "src/lib1/up").symlink_to("../../components/train/train.py")
    plan = plan_snapshot(code(train(repo), "../../src/lib1"))
    assert "lib1/up" not in paths(plan)
    assert any("skipped symlink 'lib1/up'" in warning for warning in plan.warnings)


def test_symlinks_inside_a_zipped_folder(repo: Path, tmp_path: Path) -> None:
    write(tmp_path / "outside.txt", "secret")
    (repo / "src/lib2/out.txt").symlink_to(tmp_path / "outside.txt")
    (repo / "src/lib2/alias.py").symlink_to("sub/m.py")
    (repo / "src/lib2/subdir").symlink_to("sub")
    plan = plan_snapshot(code(train(repo), "../../src/lib2.zip"))
    materialize(plan, tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "out/lib2.zip") as archive:
        assert "lib2/out.txt" not in archive.namelist()
        assert "lib2/subdir/m.py" not in archive.namelist()
        assert archive.read("lib2/alias.py") == b"M = 1\n"
    warnings = "\n".join(plan.warnings)
    assert "skipped symlink 'lib2/out.txt'" in warnings
    assert "skipped symlink 'lib2/subdir' (-> sub): symlinked folders are not followed" in warnings


# ---- digest ---------------------------------------------------------------------------------


def test_digest_ignores_mtimes_and_location(repo: Path, tmp_path: Path) -> None:
    (repo / "src/lib1/alias.py").symlink_to("core.py")
    spec = code(train(repo), "../../src/lib1", "../../src/lib2.zip")
    before = plan_snapshot(spec).digest
    for path in repo.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000), follow_symlinks=False)
    assert plan_snapshot(spec).digest == before
    moved = tmp_path / "elsewhere/deeper/repo"
    shutil.copytree(repo, moved, symlinks=True)
    assert plan_snapshot(code(train(moved), "../../src/lib1", "../../src/lib2.zip")).digest == (
        before
    )


@pytest.mark.parametrize("change", ["byte", "rename", "chmod", "zipped byte", "link"])
def test_digest_changes_with_content(repo: Path, change: str) -> None:
    (repo / "src/lib1/alias.py").symlink_to("core.py")
    spec = code(train(repo), "../../src/lib1", "../../src/lib2.zip")
    before = plan_snapshot(spec).digest
    helpers = train(repo) / "utils/helpers.py"
    if change == "byte":
        helpers.write_text("X = 2\n")
    elif change == "rename":
        helpers.rename(helpers.with_name("helper.py"))
    elif change == "chmod":
        helpers.chmod(helpers.stat().st_mode | stat.S_IXUSR)
    elif change == "zipped byte":
        (repo / "src/lib2/sub/m.py").write_text("M = 2\n")
    else:
        (repo / "src/lib1/alias.py").unlink()
        (repo / "src/lib1/alias.py").symlink_to("__init__.py")
    assert plan_snapshot(spec).digest != before


def test_digest_frames_fields(tmp_path: Path) -> None:
    write(tmp_path / "one/ab", "c")
    write(tmp_path / "two/a", "bc")
    one = plan_snapshot(code(tmp_path / "one")).digest
    assert one != plan_snapshot(code(tmp_path / "two")).digest


def test_built_zip_is_byte_for_byte_deterministic(repo: Path, tmp_path: Path) -> None:
    spec = code(train(repo), "../../src/lib2.zip")
    first = plan_snapshot(spec)
    materialize(first, tmp_path / "first")
    for path in (repo / "src/lib2").rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
    (repo / "src/lib2/sub/m.py").chmod(0o600)  # same normalised mode
    second = plan_snapshot(spec)
    materialize(second, tmp_path / "second")
    assert second.digest == first.digest
    zipped = (tmp_path / "first/lib2.zip").read_bytes()
    assert (tmp_path / "second/lib2.zip").read_bytes() == zipped
    with zipfile.ZipFile(tmp_path / "first/lib2.zip") as archive:
        for info in archive.infolist():
            assert (info.date_time, info.create_system) == ((1980, 1, 1, 0, 0, 0), 3)
            assert stat.S_IMODE(info.external_attr >> 16) in (FILE_MODE, EXEC_MODE)


# ---- materialize ----------------------------------------------------------------------------


def test_materialize_writes_exactly_the_plan(repo: Path, tmp_path: Path) -> None:
    (repo / "src/lib1/alias.py").symlink_to("core.py")
    plan = plan_snapshot(code(train(repo), "../../src/lib1", "../../assets/LICENSE"))
    dest = tmp_path / "snapshot"
    dest.mkdir()
    materialize(plan, dest)
    written = sorted(
        path.relative_to(dest).as_posix() for path in dest.rglob("*") if not path.is_dir()
    )
    assert written == paths(plan)
    for item in plan.entries:
        target = dest / item.relpath
        if item.kind == "symlink":
            assert str(target.readlink()) == item.link_target
            continue
        assert item.source is not None
        assert target.read_bytes() == item.source.read_bytes()
        assert stat.S_IMODE(target.stat().st_mode) == item.mode
        assert not target.samefile(item.source)
    # the materialised folder, planned in turn, is the same snapshot
    assert plan_snapshot(code(dest)).digest == plan.digest


def test_materialize_never_touches_the_sources(repo: Path, tmp_path: Path) -> None:
    plan = plan_snapshot(code(train(repo)))
    materialize(plan, tmp_path / "out")
    (tmp_path / "out/train.py").write_text("changed")
    assert (train(repo) / "train.py").read_text() == "print('train')\n"


def test_materialize_refuses_a_non_empty_destination(repo: Path, tmp_path: Path) -> None:
    write(tmp_path / "out/old.txt")
    with pytest.raises(SnapshotError, match="not an empty folder"):
        materialize(plan_snapshot(code(train(repo))), tmp_path / "out")


# ---- unreadable files -----------------------------------------------------------------------


def test_unreadable_file_names_it(repo: Path) -> None:
    def refuse(path: Path) -> str:
        raise PermissionError(13, "Permission denied", str(path))

    with pytest.raises(SnapshotError) as caught:
        plan_snapshot(code(train(repo), "../../src/lib1"), file_digest=refuse)
    assert caught.value.message.startswith(f"code folder {train(repo).resolve()}: cannot read ")
    assert caught.value.message.endswith(": Permission denied")


def test_unreadable_included_file_names_the_include(repo: Path) -> None:
    def refuse(path: Path) -> str:
        if path.name == "LICENSE":
            raise PermissionError(13, "Permission denied", str(path))
        return "0" * 32

    with pytest.raises(SnapshotError) as caught:
        plan_snapshot(code(train(repo), "../../assets/LICENSE"), file_digest=refuse)
    assert caught.value.message == (
        f"{ORIGIN}:1: additional include '../../assets/LICENSE': cannot read "
        f"{(repo / 'assets/LICENSE').resolve()}: Permission denied"
    )


def test_runner_folders_inside_the_code_are_left_out(repo: Path) -> None:
    base = train(repo)
    write(base / "runs/.runner-runs", "")
    write(base / "runs/train-1/outputs/model.bin", "weights")
    write(base / "cache/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n")
    write(base / "cache/objects/ab/cd", "x")
    write(base / "mywork/run.json", "{}")
    write(base / "mywork/.runner/parallel_run.py", "")
    write(base / "notes/run.json", "{}")  # a user's own file of that name is code
    assert paths(plan_snapshot(code(base))) == [
        "notes/run.json",
        "train.py",
        "utils/helpers.py",
    ]
