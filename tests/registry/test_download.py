"""Download (spec plus snapshot, runnable with the same cache key), and the store keeping
registered bundles from gc."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

from registry_helpers import Cli, Json, MakeModule

from runner.cache.gc import collect
from runner.cache.store import CacheStore


def test_download_then_run_has_the_same_cache_key_and_outputs(
    make_module: MakeModule, run_json: Json, run_cli: Cli, tmp_path: Path
) -> None:
    spec = make_module()
    run_json("module", "register", spec)
    registered = run_json("run", "echo", "-i", "text=same")
    assert registered["status"] == "succeeded"
    got = run_json("module", "download", "echo@1.0.0", tmp_path / "copy")
    copy = Path(got["spec"])
    assert copy == tmp_path / "copy" / "echo.yaml"
    assert sorted(p.name for p in (copy.parent / "snapshot").iterdir()) == ["helper.py", "main.py"]
    # Ordinary files, the user's to edit (never links into the registry's store).
    main = copy.parent / "snapshot" / "main.py"
    assert main.stat().st_mode & stat.S_IWUSR and main.stat().st_nlink == 1
    downloaded = run_json("run", copy, "-i", "text=same")
    assert downloaded["cache_key"] == registered["cache_key"]
    assert downloaded["status"] == "cached"
    out = Path(downloaded["outputs"]["out"], "said.txt").read_text()
    assert out == Path(registered["outputs"]["out"], "said.txt").read_text() == "SAME v1"
    # And the key is the one of the working copy it was registered from.
    original = run_json("run", spec, "-i", "text=same")
    assert original["cache_key"] == registered["cache_key"]
    code, _, err = run_cli("module", "download", "echo", tmp_path / "copy")
    assert code == 2 and "is not an empty folder" in err


def test_gc_never_removes_a_registered_bundle(
    make_module: MakeModule, run_json: Json, run_cli: Cli, registry_dir: Path
) -> None:
    run_json("module", "register", make_module())
    assert run_json("run", "echo")["status"] == "succeeded"
    assert not (registry_dir / "store" / "CACHEDIR.TAG").exists()  # a data folder: backed up
    code, _, err = run_cli("cache", "gc", "--max-size", "0", "--older-than", "0s",
                           "--cache-dir", registry_dir / "store")  # fmt: skip
    assert code == 0, err
    with CacheStore(registry_dir / "store", tagged=False) as store:
        assert len(store.entries()) == 1
        report = collect(store, max_size=0, older_than=0)
        assert report.removed == () and report.objects_removed == 0
        assert report.size > 0
    # The checkout can be rebuilt from the store at any time.
    shutil.rmtree(registry_dir / "checkouts")
    result = run_json("run", "echo", "--no-cache")
    assert Path(result["outputs"]["out"], "said.txt").read_text() == "HELLO v1"


def test_a_lost_bundle_is_reported_and_restored_by_registering_again(
    make_module: MakeModule, run_json: Json, run_cli: Cli, registry_dir: Path
) -> None:
    spec = make_module()
    done = run_json("module", "register", spec)
    with CacheStore(registry_dir / "store", tagged=False) as store:
        assert store.remove(str(done["digest"]))
    code, _, err = run_cli("module", "download", "echo", registry_dir.parent / "out")
    assert code == 2 and "its bundle is missing or damaged" in err and "register it again" in err
    assert run_json("module", "register", spec)["status"] == "unchanged"
    got = run_json("module", "download", "echo", registry_dir.parent / "out")
    assert Path(got["spec"]).is_file()


def test_gc_of_a_shared_store_drops_other_entries_and_keeps_kept_ones(tmp_path: Path) -> None:
    """In a store that also holds ordinary cache entries, only those go, objects included."""
    with CacheStore(tmp_path / "store") as store:
        for name, meta in (("a" * 32, {"keep": True}), ("b" * 32, {})):
            out = tmp_path / name / "out"
            out.mkdir(parents=True)
            (out / "data.txt").write_text(f"content of {name[0]}")
            store.publish(name, {"out": (out, "dir")}, {}, meta)
        report = collect(store, max_size=0, older_than=0)
        assert report.removed == ("b" * 32,)
        assert [entry.key for entry in store.entries()] == ["a" * 32]
        assert report.objects_removed == 1 and report.size == len("content of a")
        assert store.lookup("a" * 32) is not None
