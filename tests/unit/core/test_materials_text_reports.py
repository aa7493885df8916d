"""Text report kinds (SYSINTERNALS_SIGCHECK, SYSINTERNALS_ACCESSCHK, CERTCC_DRANZER,
RADAMSA_REPORT, RADAMSA_CRASHES) against the samples in tests/assets/materials/windows.

Those samples are Chainloop's published test data (see the README there). Samples made here:
sigcheck output with the banner sigcheck prints without ``-nobanner``, the hash columns of
``-h`` and written as UTF-16 with a BOM (as the tool writes when redirected); archives of the
dranzer reports of one run and of radamsa ``-M`` logs; radamsa crash directories packed as zip
and tar.gz. All follow the tools' documented output.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.core.materials_kit import craft, error

from chainproof.core import materials
from chainproof.core.materials.dranzer import DranzerHandler, dranzer_projection
from chainproof.core.materials.radamsa import (
    RadamsaCrashesHandler,
    RadamsaReportHandler,
    report_projection,
)
from chainproof.core.materials.sysinternals import (
    AccesschkHandler,
    SigcheckHandler,
    accesschk_projection,
    sigcheck_projection,
)
from chainproof.errors import MaterialError
from chainproof.policy.content import evaluable_content

WINDOWS = Path(__file__).parents[2] / "assets" / "materials" / "windows"
SIGCHECK, ACCESSCHK, DRANZER = SigcheckHandler(), AccesschkHandler(), DranzerHandler()
RADAMSA, CRASHES = RadamsaReportHandler(), RadamsaCrashesHandler()
TOOLS = "chainproof.material.tools"
SIGCHECK_BANNER = (
    "\r\nSigcheck v2.90 - File version and signature viewer\r\n"
    "Copyright (C) 2004-2022 Mark Russinovich\r\nSysinternals - www.sysinternals.com\r\n\r\n"
)
SIGCHECK_HASHES = (
    '"Path","Verified","Date","Publisher","Company","Description","Product",'
    '"Product Version","File Version","Machine Type","MD5","SHA1","PESHA1","PESHA256",'
    '"SHA256","IMP"\r\n'
    '"c:\\tools\\app.exe","A certificate chain processed, but terminated in a root certificate '
    'which is not trusted by the trust provider.","9:12 AM 3/2/2026","Acme Ltd","Acme Ltd",'
    '"App","App","1.0.0.0","1.0.0.0","64-bit","0cc175b9c0f1b6a831c399e269772661",'
    '"86f7e437faa5a7fce15d1ddcb9eaeaea377667b8","-","-",'
    '"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb","-"\r\n'
)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def pack(path: Path, entries: dict[str, bytes]) -> Path:
    """A zip or tar.gz (by suffix) of ``entries``."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
        return path
    with tarfile.open(path, "w:gz") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sigcheck-report.csv", "SYSINTERNALS_SIGCHECK"),
        ("sigcheck-report-tab.csv", "SYSINTERNALS_SIGCHECK"),
        ("accesschk-default.txt", "SYSINTERNALS_ACCESSCHK"),
        ("accesschk-service.txt", "SYSINTERNALS_ACCESSCHK"),
        ("accesschk-verbose.txt", "ARTIFACT"),  # -nobanner: no marker, give --kind
        ("accesschk-descriptor.txt", "ARTIFACT"),
        ("dranzer-report.txt", "CERTCC_DRANZER"),
        ("dranzer-crash.txt", "CERTCC_DRANZER"),
        ("dranzer-summary.txt", "CERTCC_DRANZER"),
        ("radamsa-meta.txt", "RADAMSA_REPORT"),
        ("radamsa-meta-invalid.txt", "ARTIFACT"),
    ],
)
def test_detection(name: str, kind: str) -> None:
    assert materials.detect_kind(str(WINDOWS / name)) == kind


def test_detection_of_built_samples(tmp_path: Path) -> None:
    banner = write(tmp_path, "sig.csv", (SIGCHECK_BANNER + SIGCHECK_HASHES).encode("utf-16"))
    assert materials.detect_kind(str(banner)) == "SYSINTERNALS_SIGCHECK"
    plain_csv = write(tmp_path, "people.csv", "Name,Verified\nann,yes\n")  # no Path column
    assert materials.detect_kind(str(plain_csv)) == "ARTIFACT"
    kv_text = write(tmp_path, "notes.txt", "name: build, status: ok\n")  # not a -M log
    assert materials.detect_kind(str(kv_text)) == "ARTIFACT"
    crash = write(tmp_path, "crash-1.bin", b"\x00\xffcrashing bytes")
    assert materials.detect_kind(str(crash)) == "ARTIFACT"  # RADAMSA_CRASHES: never detected
    assert "RADAMSA_CRASHES" not in materials.DETECTION_ORDER


# --- SYSINTERNALS_SIGCHECK -------------------------------------------------------------------


def test_sigcheck_csv_and_tsv() -> None:
    csv_material = craft(SIGCHECK, WINDOWS / "sigcheck-report.csv")
    assert csv_material.summary["files"] == 2
    assert csv_material.summary["by_verified"] == {"Signed": 1, "Unsigned": 1}
    assert csv_material.summary["unsigned"] == 1
    assert csv_material.summary["columns"][:2] == ["Path", "Verified"]
    assert csv_material.annotations[TOOLS] == '["sigcheck"]'
    tsv = craft(SIGCHECK, WINDOWS / "sigcheck-report-tab.csv").summary
    assert (
        tsv["files"] == 1
        and tsv["signed"] == 1
        and tsv["columns"]
        == [
            "Path",
            "Verified",
            "Company",
        ]
    )


def test_sigcheck_with_banner_hashes_and_utf16(tmp_path: Path) -> None:
    path = write(tmp_path, "sig.csv", (SIGCHECK_BANNER + SIGCHECK_HASHES).encode("utf-16"))
    material = craft(SIGCHECK, path)
    assert material.summary["tool_version"] == "2.90"
    assert material.annotations[TOOLS] == '["sigcheck@2.90"]'
    assert material.summary["signed"] == 0 and material.summary["files"] == 1
    assert "SHA256" in material.summary["columns"]
    (row,) = sigcheck_projection(path.read_bytes())
    assert row["Path"] == "c:\\tools\\app.exe" and row["Publisher"] == "Acme Ltd"
    assert row["Verified"].startswith("A certificate chain processed")


def test_sigcheck_refusals(tmp_path: Path) -> None:
    no_columns = write(tmp_path, "x.csv", '"File","Signed"\n"a.exe","yes"\n')
    err = error(SIGCHECK, no_columns)
    assert "x.csv is not a sigcheck report: its header row has no Path and Verified" in (
        err.message
    )
    assert "found: File, Signed" in err.message
    assert err.hint and "sigcheck -c" in err.hint
    assert "does not exist" in error(SIGCHECK, tmp_path / "missing.csv").message
    assert "is empty" in error(SIGCHECK, write(tmp_path, "e.csv", b"")).message
    banner_only = write(tmp_path, "b.csv", SIGCHECK_BANNER)
    assert "found: nothing" in error(SIGCHECK, banner_only).message
    blank_cells = write(tmp_path, "c.csv", ",,\n\t,\n")
    assert "found: nothing" in error(SIGCHECK, blank_cells).message


# --- SYSINTERNALS_ACCESSCHK ------------------------------------------------------------------


def test_accesschk_default_and_verbose() -> None:
    default = craft(ACCESSCHK, WINDOWS / "accesschk-default.txt")
    assert default.summary == {
        "objects": 1,
        "access_entries": 3,
        "by_access": {"R": 1, "RW": 2},
        "writable_objects": 1,
        "principals": 3,
        "descriptors": 0,
        "tool_version": "6.15",
    }
    assert default.annotations[TOOLS] == '["AccessChk@6.15"]'
    verbose = accesschk_projection((WINDOWS / "accesschk-verbose.txt").read_bytes())
    (obj,) = verbose["objects"]
    assert obj["name"] == "c:\\windows\\system32\\notepad.exe"
    assert obj["access_entries"][1] == {
        "access": "R",
        "principal": "BUILTIN\\Users",
        "rights": ["FILE_EXECUTE", "FILE_READ_DATA"],
    }
    assert verbose["tool"] == {"name": "AccessChk"} and verbose["raw"].startswith("c:\\")


def test_accesschk_security_descriptor() -> None:
    material = craft(ACCESSCHK, WINDOWS / "accesschk-descriptor.txt")
    assert material.summary["descriptors"] == 1 and material.summary["access_entries"] == 0
    (obj,) = accesschk_projection((WINDOWS / "accesschk-descriptor.txt").read_bytes())["objects"]
    assert obj["owner"] == "NT AUTHORITY\\SYSTEM"
    assert obj["descriptor_flags"] == ["SE_DACL_PRESENT", "SE_SELF_RELATIVE"]
    assert [a["principal"] for a in obj["dacl"]] == [
        "NT AUTHORITY\\SYSTEM",
        "BUILTIN\\Administrators",
        "NT AUTHORITY\\NETWORK",
    ]
    assert obj["dacl"][2]["ace_flags"] == ["INHERITED_ACE"]
    assert obj["dacl"][0]["rights"] == ["SERVICE_QUERY_STATUS", "SERVICE_START", "READ_CONTROL"]
    assert obj["sacl"] == [
        {
            "index": 0,
            "ace_type": "",
            "principal": "Everyone",
            "ace_flags": ["FAILED_ACCESS_ACE_FLAG"],
            "rights": ["SERVICE_ALL_ACCESS"],
        }
    ]


def test_accesschk_refusals(tmp_path: Path) -> None:
    err = error(ACCESSCHK, WINDOWS / "radamsa-meta.txt")
    assert "is not AccessChk output: no banner, no access line" in err.message
    assert err.hint and "-nobanner is fine" in err.hint
    binary = write(tmp_path, "a.bin", b"\x7fELF\x00\x00\x01")
    assert "it is a binary file" in error(ACCESSCHK, binary).message


# --- CERTCC_DRANZER --------------------------------------------------------------------------


def test_dranzer_report() -> None:
    material = craft(DRANZER, WINDOWS / "dranzer-report.txt")
    assert material.summary == {
        "reports": 1,
        "archive": False,
        "tool_version": "96",
        "objects": 1,
        "findings": 1,
        "object_count": 2,
        "kill_bit_count": 0,
        "passed_count": 1,
        "failed_count": 1,
        "hung_count": 0,
    }
    assert material.annotations == {
        TOOLS: '["dranzer@96"]',
        "chainproof.material.dranzer.reports.count": "1",
    }
    projection = dranzer_projection((WINDOWS / "dranzer-report.txt").read_bytes())
    assert projection["findings"] == [
        {
            "clsid": "{11111111-2222-3333-4444-555555555555}",
            "class_name": "Example.WidgetControl",
            "error_message": "[Unknown Error]",
            "error_code": "0xe0434352",
        }
    ]
    assert projection["objects"][0]["metadata"]["com_object_filename"] == "example.ocx"
    assert projection["summary"]["counters"]["com_objects_without_kill_bit"] == 2


def test_dranzer_access_violation() -> None:
    projection = dranzer_projection((WINDOWS / "dranzer-crash.txt").read_bytes())
    (finding,) = projection["findings"]
    assert finding == {
        "error_message": "Access violation",
        "address": "0x41414141",
        "access_type": "write",
        "method": "IExampleCrash::void Trigger([in] BSTR data<xxxx.....{10240}>)",
        "clsid": "{99999999-8888-7777-6666-555555555555}",
        "class_name": "Example.CrashControl",
    }


@pytest.mark.parametrize("archive", ["run.zip", "run.tar.gz"])
def test_dranzer_archive_of_one_run(tmp_path: Path, archive: str) -> None:
    entries = {
        f"b/{name}": (WINDOWS / name).read_bytes()
        for name in ("dranzer-summary.txt", "dranzer-crash.txt")
    }
    entries["summary.csv"] = b"clsid,result\n"  # a companion file, skipped
    path = pack(tmp_path / archive, entries)
    material = craft(DRANZER, path)
    assert material.summary["reports"] == 2 and material.summary["archive"] is True
    assert material.summary["failed_count"] == 1 and material.summary["object_count"] == 3
    assert material.annotations["chainproof.material.dranzer.reports.count"] == "2"
    projection = dranzer_projection(path.read_bytes())
    assert [r["source"] for r in projection["reports"]] == [
        "b/dranzer-crash.txt",
        "b/dranzer-summary.txt",
    ]
    assert projection["findings"][0]["source"] == "b/dranzer-crash.txt"
    assert projection["raw"].startswith("===== b/dranzer-crash.txt =====\n")


def test_dranzer_refusals(tmp_path: Path) -> None:
    err = error(DRANZER, WINDOWS / "radamsa-meta-invalid.txt")
    assert "is not a dranzer report: it is not dranzer output" in err.message
    no_report = pack(tmp_path / "x.zip", {"readme.txt": b"hello\n"})
    assert "no entry of the archive is dranzer output" in error(DRANZER, no_report).message
    many = pack(tmp_path / "many.zip", {f"r{i}.txt": b"x" for i in range(257)})
    err = error(DRANZER, many)
    assert "more than 256 entries" in err.message
    assert err.hint and "one run" in err.hint


# --- RADAMSA_REPORT --------------------------------------------------------------------------


def test_radamsa_report() -> None:
    material = craft(RADAMSA, WINDOWS / "radamsa-meta.txt")
    assert material.summary == {
        "runs": 1,
        "iterations": 2,
        "by_generator": {"file": 1, "jump": 1},
        "by_pattern": {"many-dec": 2},
        "bytes_generated": 16892 + 17199,
    }
    assert material.annotations == {TOOLS: '["radamsa"]'}
    first, second = report_projection((WINDOWS / "radamsa-meta.txt").read_bytes())
    assert first["muta-num"] == 1 and first["checksum"] == "CF5DA754A292766FAA5465FD"
    assert first["path"] == "/tmp/m/sample_1.eds" and second["head"] == "/tmp/t/sample.eds"


def test_radamsa_gzipped_log_and_archives(tmp_path: Path) -> None:
    log = (WINDOWS / "radamsa-meta.txt").read_bytes()
    gz = write(tmp_path, "meta.log.gz", gzip.compress(log))
    assert craft(RADAMSA, gz).summary["iterations"] == 2
    runs = pack(tmp_path / "runs.tar.gz", {"run1.log": log, "run2.log": log, "empty.log": b""})
    summary = craft(RADAMSA, runs).summary
    assert summary["runs"] == 2 and summary["iterations"] == 4
    assert len(report_projection(runs.read_bytes())) == 4
    zipped = pack(tmp_path / "runs.zip", {"run1.log": log})
    assert craft(RADAMSA, zipped).summary["iterations"] == 2


def test_radamsa_refusals(tmp_path: Path) -> None:
    err = error(RADAMSA, WINDOWS / "radamsa-meta-invalid.txt")
    assert err.message == (
        "radamsa-meta-invalid.txt is not a radamsa -M metadata log: line 1: "
        "'this is not a radamsa metadata log' is not a key: value pair"
    )
    assert err.hint and "-M" in err.hint
    blank = write(tmp_path, "blank.log", "\n\n")
    assert "holds no record" in error(RADAMSA, blank).message
    bad_entry = pack(tmp_path / "runs.zip", {"ok.log": b"seed: 1\n", "bad.log": b"oops\n"})
    assert "bad.log: line 1: 'oops'" in error(RADAMSA, bad_entry).message
    corrupt = write(tmp_path, "x.gz", b"\x1f\x8b\x08\x00garbage")
    assert "x.gz: the gzipped log is corrupt" in error(RADAMSA, corrupt).message
    binary = pack(tmp_path / "bin.zip", {"fuzz.bin": b"\x00\x01seed: 1\n"})
    assert error(RADAMSA, binary).message == (
        "bin.zip is not a radamsa -M metadata log: fuzz.bin: binary content"
    )


# --- RADAMSA_CRASHES -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "entries", "count"),
    [
        ("crashes.tar.gz", {"c_1.eds": b"AAAA", "c_2.eds": b"BBBB"}, 2),
        ("crashes.zip", {"c_1.eds": b"AAAA", "c_2.eds": b"BBBB"}, 2),
        ("none.tar.gz", {}, 0),
        ("none.zip", {}, 0),
    ],
)
def test_radamsa_crash_archives(
    tmp_path: Path, name: str, entries: dict[str, bytes], count: int
) -> None:
    material = craft(CRASHES, pack(tmp_path / name, entries))
    assert material.summary == {"crashes": count, "archive": True}
    assert material.annotations["chainproof.material.radamsa.crashes.count"] == str(count)


def test_radamsa_single_crash_and_refusals(tmp_path: Path) -> None:
    single = craft(CRASHES, write(tmp_path, "c_7.eds", b"crashing bytes"))
    assert single.summary == {"crashes": 1, "archive": False}
    assert "is empty" in error(CRASHES, write(tmp_path, "e.bin", b"")).message
    assert "does not exist" in error(CRASHES, tmp_path / "nope").message


# --- what policies see -----------------------------------------------------------------------


def test_policy_input_of_the_text_kinds() -> None:
    meta = {"name": "m"}
    sig = evaluable_content(
        "SYSINTERNALS_SIGCHECK", (WINDOWS / "sigcheck-report.csv").read_bytes(), descriptor=meta
    )
    assert [row["Verified"] for row in sig["elements"]] == ["Signed", "Unsigned"]
    access = evaluable_content(
        "SYSINTERNALS_ACCESSCHK", (WINDOWS / "accesschk-default.txt").read_bytes(), descriptor=meta
    )
    assert access["tool"] == {"name": "AccessChk", "version": "6.15"}
    dranzer = evaluable_content(
        "CERTCC_DRANZER", (WINDOWS / "dranzer-report.txt").read_bytes(), descriptor=meta
    )
    assert dranzer["summary"]["failed_count"] == 1
    radamsa = evaluable_content(
        "RADAMSA_REPORT", (WINDOWS / "radamsa-meta.txt").read_bytes(), descriptor=meta
    )
    assert len(radamsa["elements"]) == 2
    crashes = evaluable_content("RADAMSA_CRASHES", b"\x00\x01", descriptor=meta)
    assert crashes == {"chainloop_metadata": meta}


# --- untrusted input -------------------------------------------------------------------------

TEXT_HANDLERS = (SIGCHECK, ACCESSCHK, DRANZER, RADAMSA, CRASHES)
SEEDS = [(WINDOWS / name).read_bytes() for name in sorted(p.name for p in WINDOWS.glob("*.*"))]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.sampled_from(SEEDS),
    cut=st.integers(min_value=0, max_value=2000),
    noise=st.binary(max_size=40),
)
def test_any_bytes_give_a_material_or_a_material_error(
    tmp_path: Path, seed: bytes, cut: int, noise: bytes
) -> None:
    """Mangled reports (cut short, noise spliced in) never raise anything but MaterialError,
    and ``accepts`` never raises at all."""
    path = write(tmp_path, "report.txt", seed[:cut] + noise + seed[cut:])
    for handler in TEXT_HANDLERS:
        assert handler.accepts(str(path)) in (True, False)
        try:
            handler.craft("m", str(path))
        except MaterialError as err:
            assert err.message
