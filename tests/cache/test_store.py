"""CacheStore on real files: publish, lookup, materialise, dedupe, protection and placement."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from cache_helpers import settle, write
from test_store_support import KEY, key, make_tree, objects_in, publish_tree, snapshot, store

from runner.cache.digest import digest_path
from runner.cache.location import TAG_TEXT
from runner.cache.store import CacheStore, Entry, UnpublishableOutput

__all__ = ["store"]  # the fixture, re-exported for pytest


def test_dir_output_round_trip(store: CacheStore, tmp_path: Path) -> None:
    produced = publish_tree(store, tmp_path / "produced")
    expected = snapshot(produced)
    entry = store.lookup(KEY)
    assert entry is not None
    assert entry.parts == {"part": 1}
    assert entry.meta == {"module": "m"}
    assert set(entry.outputs) == {"out"}
    store.materialize(entry, {"out": tmp_path / "served"})
    assert snapshot(tmp_path / "served") == expected
    assert set(expected) >= {"empty", "sub/deep/c.txt", "sub/to-a"}
    assert expected["run.sh"][1] == (b"#!/bin/sh\necho hi\n", True)
    assert digest_path(tmp_path / "served").digest == entry.outputs["out"].digest
    assert store.problems == []


def test_file_output_round_trip(store: CacheStore, tmp_path: Path) -> None:
    script = write(tmp_path / "tool.sh", "#!/bin/sh\n", executable=True)
    data = write(tmp_path / "data.csv", "a,b\n1,2\n")
    published = store.publish(KEY, {"tool": (script, "file"), "data": (data, "file")}, {}, {})
    entry = store.lookup(KEY)
    assert entry == published
    served = {"tool": tmp_path / "out" / "tool", "data": tmp_path / "out" / "data"}
    store.materialize(entry, served)
    assert served["data"].read_text() == "a,b\n1,2\n"
    assert os.access(served["tool"], os.X_OK)
    assert not os.access(served["data"], os.X_OK) or os.geteuid() == 0


def test_materialise_into_an_existing_empty_folder_only(store: CacheStore, tmp_path: Path) -> None:
    publish_tree(store, tmp_path / "produced")
    entry = store.lookup(KEY)
    assert entry is not None
    (tmp_path / "empty-dest").mkdir()
    store.materialize(entry, {"out": tmp_path / "empty-dest"})
    assert (tmp_path / "empty-dest" / "a.txt").exists()
    write(tmp_path / "busy-dest" / "mine.txt", "keep me")
    with pytest.raises(FileExistsError):
        store.materialize(entry, {"out": tmp_path / "busy-dest"})
    assert [p.name for p in (tmp_path / "busy-dest").iterdir()] == ["mine.txt"]


def test_shared_content_is_stored_once(store: CacheStore, tmp_path: Path) -> None:
    publish_tree(store, tmp_path / "one", key(1))
    before = objects_in(store)
    publish_tree(store, tmp_path / "two", key(2))
    assert objects_in(store) == before
    assert len(before) == 4  # a.txt, b.bin, c.txt, run.sh


def test_objects_are_read_only_and_materialised_by_hardlink(
    store: CacheStore, tmp_path: Path
) -> None:
    produced = publish_tree(store, tmp_path / "produced")
    entry = store.lookup(KEY)
    assert entry is not None
    modes = {stat.S_IMODE(p.stat().st_mode) for p in objects_in(store)}
    assert modes == {0o400, 0o500}  # a private store: read-only, for its owner alone
    store.materialize(entry, {"out": tmp_path / "served"})
    served = (tmp_path / "served" / "sub" / "b.bin").stat()
    obj = next(p for p in objects_in(store) if p.stat().st_ino == served.st_ino)
    # No bytes copied: the produced file became the object, and the served one is it too.
    assert obj.stat().st_nlink == 3
    assert (produced / "sub" / "b.bin").stat().st_ino == served.st_ino
    assert stat.S_IMODE(served.st_mode) == 0o400
    assert stat.S_IMODE((tmp_path / "served" / "run.sh").stat().st_mode) == 0o500


@pytest.mark.parametrize("methods", [("copy",), ("reflink", "copy")], ids=["copy", "reflink"])
def test_without_hardlinks_files_stay_independent(tmp_path: Path, methods: tuple[str, ...]) -> None:
    with CacheStore(tmp_path / "cache", methods=methods) as store:  # type: ignore[arg-type]
        produced = publish_tree(store, tmp_path / "produced")
        entry = store.lookup(KEY)
        assert entry is not None
        store.materialize(entry, {"out": tmp_path / "served"})
        served = tmp_path / "served" / "a.txt"
        obj = next(p for p in objects_in(store) if p.read_bytes() == served.read_bytes())
        assert served.stat().st_ino != obj.stat().st_ino
        assert served.stat().st_mtime_ns == obj.stat().st_mtime_ns
        assert stat.S_IMODE(served.stat().st_mode) == 0o644
        assert stat.S_IMODE((tmp_path / "served" / "run.sh").stat().st_mode) == 0o755
        assert stat.S_IMODE((produced / "a.txt").stat().st_mode) == 0o644
        assert snapshot(tmp_path / "served") == snapshot(produced)


def test_published_and_served_files_need_no_hashing(store: CacheStore, tmp_path: Path) -> None:
    produced = publish_tree(store, tmp_path / "produced")
    assert digest_path(produced, store.state).bytes_read == 0
    entry = store.lookup(KEY)
    assert entry is not None
    for number in range(2):  # each placement moves the shared inode's ctime again
        store.materialize(entry, {"out": tmp_path / f"served{number}"})
        assert digest_path(tmp_path / f"served{number}", store.state).bytes_read == 0


def served_link(store: CacheStore, tmp_path: Path) -> Path:
    """A file of a served entry: a hard link to its object in the store."""
    publish_tree(store, tmp_path / "produced")
    entry = store.lookup(KEY)
    assert entry is not None
    store.materialize(entry, {"out": tmp_path / "served"})
    return tmp_path / "served" / "a.txt"


def test_writing_through_a_hardlink_makes_a_miss_then_a_clean_republish(
    store: CacheStore, tmp_path: Path
) -> None:
    victim = served_link(store, tmp_path)
    if os.geteuid() != 0:
        victim.chmod(0o644)  # what a non-root user would have to do first
    with open(victim, "r+b") as stream:  # root writes straight through the 0444 link
        stream.write(b"ALPHA")
    assert store.lookup(KEY) is None
    assert len(store.problems) == 1
    assert "modified after it was stored" in store.problems[0]
    assert KEY in store.problems[0]
    assert not store.layout.entry_dir(KEY).exists()
    # The next run republishes the right bytes: the damaged object must not be reused.
    publish_tree(store, tmp_path / "rerun")
    again = store.lookup(KEY)
    assert again is not None
    store.materialize(again, {"out": tmp_path / "served-again"})
    assert (tmp_path / "served-again" / "a.txt").read_text() == "alpha\n"


def test_an_object_rewritten_with_its_stamps_put_back_is_never_served(
    store: CacheStore, tmp_path: Path
) -> None:
    victim = served_link(store, tmp_path)
    before = victim.stat()
    victim.chmod(0o644)
    with open(victim, "r+b") as stream:  # the same size
        stream.write(b"ALPHA")
    victim.chmod(before.st_mode)
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same mtime
    assert (victim.stat().st_size, victim.stat().st_mtime_ns) == (
        before.st_size,
        before.st_mtime_ns,
    )
    assert store.lookup(KEY) is None  # read again because its ctime moved: not served
    assert "modified after it was stored" in store.problems[0]


def test_a_sound_entry_is_confirmed_without_reading(store: CacheStore, tmp_path: Path) -> None:
    publish_tree(store, tmp_path / "produced")
    entry = store.lookup(KEY)
    assert entry is not None
    store.materialize(entry, {"out": tmp_path / "served"})
    settle(tmp_path / "served")  # the links' ctime, moved by placing them, ages
    read = store.state.stats.bytes_read
    assert store.lookup(KEY) is not None
    assert store.lookup(KEY) is not None
    assert store.state.stats.bytes_read - read <= sum(
        p.stat().st_size for p in objects_in(store)
    )  # at most once, then vouched for by the memo
    read = store.state.stats.bytes_read
    assert store.lookup(KEY) is not None
    assert store.state.stats.bytes_read == read


def _manifest_damage(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"size":', b'"size":1', 1))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:100]), "truncated"),
        (lambda p: p.write_bytes(b""), "empty"),
        (_manifest_damage, "does not match its own digest"),
        (lambda p: p.unlink(), "manifest is missing"),
        (lambda p: p.chmod(0o000) if os.geteuid() else p.write_bytes(b"\xff"), ""),
    ],
    ids=["truncated", "empty", "tampered", "missing", "unreadable"],
)
def test_a_damaged_manifest_is_a_miss(
    store: CacheStore, tmp_path: Path, damage: object, reason: str
) -> None:
    publish_tree(store, tmp_path / "produced")
    damage(store.layout.manifest(KEY))  # type: ignore[operator]
    assert store.lookup(KEY) is None
    assert len(store.problems) == 1
    assert reason in store.problems[0]
    assert not store.layout.entry_dir(KEY).exists()
    assert store.lookup(KEY) is None
    assert len(store.problems) == 1  # gone now: a plain miss


def test_a_forged_manifest_is_validated(store: CacheStore, tmp_path: Path) -> None:
    """Even with a correct self-digest, nothing may point outside the destination."""
    from runner.cache.manifest import decode, encode

    publish_tree(store, tmp_path / "produced")
    path = store.layout.manifest(KEY)
    manifest = decode(path.read_bytes(), KEY)
    forged = path.read_bytes().replace(b'"path":"a.txt"', b'"path":"../../evil"')
    body = forged[forged.index(b'"body":') + 7 : -2]
    from runner.hashing import hash_bytes

    path.write_bytes(b'{"digest":"' + hash_bytes(body).encode() + b'","body":' + body + b"}\n")
    assert store.lookup(KEY) is None
    assert "unsafe path" in store.problems[0]
    assert encode(manifest)  # the original was fine


@pytest.mark.parametrize("damage", ["missing", "exec-bit"])
def test_a_damaged_object_is_a_miss(store: CacheStore, tmp_path: Path, damage: str) -> None:
    publish_tree(store, tmp_path / "produced")
    executable = next(p for p in objects_in(store) if p.name.endswith(".x"))
    if damage == "missing":
        executable.unlink()
    else:
        executable.chmod(0o444)
    assert store.lookup(KEY) is None
    assert executable.name in store.problems[0]


def test_materialise_of_a_vanished_object_undoes_itself(store: CacheStore, tmp_path: Path) -> None:
    from runner.cache.store import DamagedEntryError

    publish_tree(store, tmp_path / "produced")
    entry = store.lookup(KEY)
    assert entry is not None
    objects_in(store)[-1].unlink()
    with pytest.raises(DamagedEntryError):
        store.materialize(entry, {"out": tmp_path / "served"})
    assert not (tmp_path / "served").exists()
    assert store.lookup(KEY) is None
    assert len(store.problems) == 1


def test_lookup_repairs_while_the_caller_holds_the_key(store: CacheStore, tmp_path: Path) -> None:
    publish_tree(store, tmp_path / "produced")
    store.layout.manifest(KEY).write_bytes(b"junk")
    with store.lock(KEY):
        assert store.lookup(KEY) is None  # reentrant: no deadlock
        assert not store.layout.entry_dir(KEY).exists()


def test_threads_of_one_process_take_a_key_in_turn(store: CacheStore) -> None:
    events: list[str] = []

    def other_thread() -> None:
        with store.key_locks.attempt(KEY) as held:
            events.append(f"attempt {held}")
        with store.lock(KEY):
            events.append("other holds")

    with store.lock(KEY), store.lock(KEY):  # reentrant in one thread
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join(0.3)
        assert worker.is_alive()  # waiting for us
        events.append("released")
    worker.join(5)
    assert events == ["attempt False", "released", "other holds"]


def test_a_damaged_entry_is_kept_while_another_holds_its_key(tmp_path: Path) -> None:
    with CacheStore(tmp_path / "cache") as first, CacheStore(tmp_path / "cache") as second:
        publish_tree(first, tmp_path / "produced")
        first.layout.manifest(KEY).write_bytes(b"junk")
        with second.lock(KEY):
            assert first.lookup(KEY) is None
            assert first.layout.entry_dir(KEY).exists()  # the holder will replace it
        # The holder publishes over the damaged entry.
        make_tree(tmp_path / "again")
        second.publish(KEY, {"out": (tmp_path / "again", "dir")}, {}, {})
        assert second.lookup(KEY) is not None


def test_publishing_an_existing_key_keeps_the_first_entry(
    store: CacheStore, tmp_path: Path
) -> None:
    publish_tree(store, tmp_path / "one")
    first = store.lookup(KEY)
    make_tree(tmp_path / "two", salt="other")
    kept = store.publish(KEY, {"out": (tmp_path / "two", "dir")}, {"part": 2}, {})
    assert kept == first
    assert store.lookup(KEY) == first


def test_publishing_over_a_damaged_entry_replaces_it(store: CacheStore, tmp_path: Path) -> None:
    publish_tree(store, tmp_path / "one")
    store.layout.manifest(KEY).write_bytes(b"junk")
    make_tree(tmp_path / "two", salt="new")
    fresh = store.publish(KEY, {"out": (tmp_path / "two", "dir")}, {}, {})
    assert store.lookup(KEY) == fresh
    assert len(store.problems) == 1


def test_outputs_that_cannot_be_cached(store: CacheStore, tmp_path: Path) -> None:
    folder = make_tree(tmp_path / "produced")
    os.mkfifo(folder / "pipe")
    with pytest.raises(UnpublishableOutput, match="FIFO"):
        store.publish(KEY, {"out": (folder, "dir")}, {}, {})
    with pytest.raises(UnpublishableOutput, match="not produced"):
        store.publish(KEY, {"out": (tmp_path / "nothing", "dir")}, {}, {})
    with pytest.raises(UnpublishableOutput, match="should be a file"):
        store.publish(KEY, {"out": (tmp_path / "produced", "file")}, {}, {})
    with pytest.raises(TypeError, match="JSON"):
        store.publish(KEY, {}, {}, {"path": tmp_path})
    assert store.lookup(KEY) is None
    assert list(store.layout.tmp.iterdir()) == []


def test_links_leading_out_are_stored_as_content_and_left_untouched(
    store: CacheStore, tmp_path: Path
) -> None:
    outside = write(tmp_path / "dataset" / "big.bin", b"outside bytes")
    write(tmp_path / "dataset" / "more" / "x.txt", "x")
    folder = tmp_path / "produced"
    write(folder / "own.txt", "mine")
    (folder / "data.bin").symlink_to(outside)
    (folder / "more").symlink_to(tmp_path / "dataset" / "more")
    shared = write(tmp_path / "elsewhere.txt", "linked twice")
    os.link(shared, folder / "twice.txt")
    settle(folder, tmp_path / "dataset")
    store.publish(KEY, {"out": (folder, "dir")}, {}, {})
    for untouched in (outside, tmp_path / "dataset" / "more" / "x.txt", shared):
        assert stat.S_IMODE(untouched.stat().st_mode) == 0o644
    entry = store.lookup(KEY)
    assert entry is not None
    store.materialize(entry, {"out": tmp_path / "served"})
    served = tmp_path / "served"
    assert (served / "data.bin").read_bytes() == b"outside bytes"
    assert not (served / "data.bin").is_symlink()
    assert (served / "more" / "x.txt").read_text() == "x"
    assert digest_path(served).digest == entry.outputs["out"].digest


def test_names_that_are_not_utf8_survive(store: CacheStore, tmp_path: Path) -> None:
    folder = tmp_path / "produced"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.txt")
    write(folder / name, "bytes name")
    store.publish(KEY, {"out": (folder, "dir")}, {}, {})
    entry = store.lookup(KEY)
    assert entry is not None
    store.materialize(entry, {"out": tmp_path / "served"})
    assert [os.fsencode(p.name) for p in (tmp_path / "served").iterdir()] == [b"caf\xe9.txt"]


def test_entries_remove_and_last_used(store: CacheStore, tmp_path: Path) -> None:
    publish_tree(store, tmp_path / "one", key(1))
    publish_tree(store, tmp_path / "two", key(2))
    publish_tree(store, tmp_path / "three", key(3))
    store.layout.manifest(key(3)).write_bytes(b"junk")
    os.utime(store.layout.entry_dir(key(1)), (1000, 1000))
    listed = store.entries()
    assert [e.key for e in listed] == [key(1), key(2)]
    assert listed[0].last_used == 1000
    assert len(store.problems) == 1
    assert store.layout.entry_dir(key(3)).exists()  # listing never deletes
    hit = store.lookup(key(1))
    assert hit is not None
    assert hit.last_used > 1000
    assert store.layout.entry_dir(key(1)).stat().st_mtime > 1000
    assert store.remove(key(1)) is True
    assert store.remove(key(1)) is False
    assert store.lookup(key(1)) is None


def test_keys_are_checked(store: CacheStore) -> None:
    for bad in ("", "ABCDEF0123456789", "../../etc/passwd", "0123", "g" * 32):
        with pytest.raises(ValueError, match="invalid cache key"):
            store.lookup(bad)


def test_the_root_is_tagged_and_laid_out(store: CacheStore) -> None:
    assert store.layout.tag.read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert store.layout.tag.read_text() == TAG_TEXT
    assert {p.name for p in store.root.iterdir()} >= {"objects", "entries", "locks", "tmp"}
    assert store.layout.state_db.exists()


def test_entry_equality_ignores_last_used(store: CacheStore, tmp_path: Path) -> None:
    published = publish_tree(store, tmp_path / "produced")
    assert published.exists()
    entry = store.lookup(KEY)
    assert isinstance(entry, Entry)
    assert entry.size == sum(p.stat().st_size for p in objects_in(store))


def test_an_entry_without_outputs(store: CacheStore) -> None:
    published = store.publish(KEY, {}, {"part": 1}, {"exit_code": 0})
    assert store.lookup(KEY) == published
    assert published.size == 0
    store.materialize(published, {})


def test_a_device_without_reflinks_is_asked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from runner.cache import objects

    calls: list[str] = []

    def unsupported(src: str, dst: str) -> None:
        calls.append(dst)
        raise OSError(errno.EOPNOTSUPP, "no reflinks here")

    monkeypatch.setitem(objects._PLACE, "reflink", unsupported)
    with CacheStore(tmp_path / "cache") as store:
        publish_tree(store, tmp_path / "produced")
        entry = store.lookup(KEY)
        assert entry is not None
        store.materialize(entry, {"out": tmp_path / "served"})
    assert len(calls) == 1  # one device pair: not asked again for 7 more files, either way
