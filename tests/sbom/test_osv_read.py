from __future__ import annotations

import inspect
import json
import zipfile
from pathlib import Path

import pytest

from spell.errors import InvalidInput
from spell.sbom.osv import (
    read_osv,
)
from tests.sbom.osv_samples import ASSETS, FIXTURE_IDS, record, semver_range, zip_of


def test_a_directory_is_read_recursively_and_ignores_what_is_not_json() -> None:
    records = list(read_osv(ASSETS))

    assert {r.id for r in records} == FIXTURE_IDS
    assert len(records) == len(FIXTURE_IDS)


def test_a_zip_as_osv_dev_publishes_reads_the_same_records_as_the_directory(tmp_path: Path) -> None:
    archive = zip_of(ASSETS, tmp_path / "all.zip")

    from_zip = {r.id: r for r in read_osv(archive)}
    from_dir = {r.id: r for r in read_osv(ASSETS)}

    assert from_zip == from_dir


def test_a_single_file_holds_one_record_or_a_list_of_them(tmp_path: Path) -> None:
    one = json.loads((ASSETS / "npm" / "GHSA-vh95-rmgr-6w4m.json").read_text())
    two = json.loads((ASSETS / "PyPI" / "GHSA-8q59-q68h-6hv4.json").read_text())
    (tmp_path / "one.json").write_text(json.dumps(one))
    (tmp_path / "many.json").write_text(json.dumps([one, two]))

    assert [r.id for r in read_osv(tmp_path / "one.json")] == ["GHSA-vh95-rmgr-6w4m"]
    assert [r.id for r in read_osv(tmp_path / "many.json")] == ["GHSA-vh95-rmgr-6w4m", "GHSA-8q59-q68h-6hv4"]


def test_records_are_yielded_as_they_are_read_so_an_import_can_report_progress(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(record(semver_range({"introduced": "0"}), id="A-1")))
    (tmp_path / "b.json").write_text(json.dumps({"id": "B-1", "affected": "everything"}))

    reading = read_osv(tmp_path)

    assert inspect.isgenerator(read_osv(tmp_path))
    assert next(reading).id == "A-1"
    with pytest.raises(InvalidInput) as caught:
        next(reading)
    assert caught.value.details["file"] == "b.json"
    assert caught.value.details["id"] == "B-1"


def test_a_malformed_record_in_a_zip_names_the_archive_member(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(
            "BAD-1.json", json.dumps({"id": "BAD-1", "affected": [{"package": {"ecosystem": "npm"}}]})
        )

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(target))

    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.details == {
        "id": "BAD-1",
        "file": "all.zip:BAD-1.json",
        "field": "affected[0].package.name",
    }
    assert "BAD-1" in caught.value.message
    assert "all.zip:BAD-1.json" in caught.value.message


@pytest.mark.parametrize(
    "name", ["../escape.json", "/etc/advisory.json", "nested/../../escape.json", "C:/x.json"]
)
def test_a_zip_member_named_outside_the_archive_is_refused(tmp_path: Path, name: str) -> None:
    target = tmp_path / "all.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("GOOD-1.json", json.dumps(record(id="GOOD-1")))
        archive.writestr(zipfile.ZipInfo(name), json.dumps(record(id="EVIL-1")))

    with pytest.raises(InvalidInput) as caught:
        next(read_osv(target))  # refused before any record is handed out

    assert caught.value.code == "UNSAFE_ARCHIVE"
    assert caught.value.details["member"] == name


def test_a_zip_member_that_inflates_past_the_cap_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    bomb = json.dumps(record(id="BOMB-1", details=" " * (4 << 20))).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BOMB-1.json", bomb)
    assert target.stat().st_size < 64 << 10  # a few KiB on disk

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(target, max_member_bytes=1 << 20))

    assert caught.value.code == "UNSAFE_ARCHIVE"
    assert caught.value.details == {"file": "all.zip:BOMB-1.json", "limit": 1 << 20}


def test_a_zip_member_whose_header_understates_its_size_is_still_bounded(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BIG-1.json", json.dumps(record(id="BIG-1", details="x" * 5000)))
    raw = bytearray(target.read_bytes())
    # Rewrite the uncompressed size in both headers to 10 bytes: the reader must not trust it.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.index(signature) + offset
        raw[at : at + 4] = (10).to_bytes(4, "little")
    target.write_bytes(bytes(raw))

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(target, max_member_bytes=1000))

    # Reading stops at the declared size, so the member fails its checksum instead of growing.
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.details == {"file": "all.zip:BIG-1.json"}


def test_a_zip_past_the_total_cap_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for i in range(3):
            archive.writestr(f"R-{i}.json", json.dumps(record(id=f"R-{i}", details="x" * 400)))

    reading = read_osv(target, max_total_bytes=1200)
    assert next(reading).id == "R-0"
    assert next(reading).id == "R-1"
    with pytest.raises(InvalidInput) as caught:
        next(reading)
    assert caught.value.code == "UNSAFE_ARCHIVE"


def test_files_past_the_caps_in_a_directory_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(record(id="A-1", details="x" * 2000)))

    with pytest.raises(InvalidInput) as too_large:
        list(read_osv(tmp_path, max_member_bytes=1000))
    with pytest.raises(InvalidInput) as too_much:
        list(read_osv(tmp_path, max_total_bytes=1000))
    with pytest.raises(InvalidInput) as single_file:
        list(read_osv(tmp_path / "a.json", max_total_bytes=1000))

    assert too_large.value.details == {"file": "a.json", "limit": 1000}
    assert too_much.value.details["limit"] == 1000
    assert single_file.value.details == {"file": "a.json", "limit": 1000}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "is not JSON"),
        (b'"a string"', "neither an OSV record"),
        (b"\xff\xfe\x00", "is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "is not JSON"),
    ],
)
def test_a_file_that_is_not_osv_json_is_refused(tmp_path: Path, content: bytes, problem: str) -> None:
    (tmp_path / "x.json").write_bytes(content)

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(tmp_path / "x.json"))

    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.details["file"] == "x.json"
    assert problem in caught.value.message


def test_a_zip_reads_only_its_json_members(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("README.md", "not a record")
        archive.writestr(zipfile.ZipInfo("records.json/"), b"")  # a folder, whatever its name
        archive.writestr("records.json/R-1.json", json.dumps(record(id="R-1")))

    assert [r.id for r in read_osv(target)] == ["R-1"]


def test_a_folder_named_like_a_record_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "odd.json").mkdir()
    (tmp_path / "odd.json" / "R-1.json").write_text(json.dumps(record(id="R-1")))

    assert [r.id for r in read_osv(tmp_path)] == ["R-1"]


def test_a_zip_whose_directory_is_damaged_is_refused(tmp_path: Path) -> None:
    target = zip_of(ASSETS / "npm", tmp_path / "all.zip")
    target.write_bytes(target.read_bytes().replace(b"PK\x01\x02", b"XX\x01\x02"))

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(target))

    assert caught.value.code == "VALIDATION_ERROR"
    assert "is not a readable zip" in caught.value.message


def test_a_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        list(read_osv(tmp_path / "nowhere"))

    assert caught.value.code == "VALIDATION_ERROR"


def test_a_damaged_zip_member_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "all.zip"
    payload = json.dumps(record(id="CRC-1")).encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("CRC-1.json", payload)
    raw = target.read_bytes()
    at = raw.index(payload)
    target.write_bytes(raw[:at] + payload.replace(b"CRC-1", b"CRC-2") + raw[at + len(payload) :])

    with pytest.raises(InvalidInput) as caught:
        list(read_osv(target))

    assert caught.value.details == {"file": "all.zip:CRC-1.json"}


def test_a_zip_member_whose_bytes_are_damaged_is_refused_by_name(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    body = json.dumps(record(id="DAMAGED-1")).encode()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        out.writestr("DAMAGED-1.json", body)
    raw = bytearray(archive.read_bytes())
    at = raw.index(body)
    raw[at + len(body) // 2] ^= 0xFF  # the stored bytes differ from their CRC-32
    archive.write_bytes(bytes(raw))
    with pytest.raises(InvalidInput, match=r"all\.zip:DAMAGED-1\.json cannot be read") as caught:
        list(read_osv(archive))
    assert caught.value.details == {"file": "all.zip:DAMAGED-1.json"}
