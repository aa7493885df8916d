"""Git HEAD facts from a real temporary repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from chainproof.client.git import head_info, strip_credentials

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@acme.example",
    "GIT_AUTHOR_DATE": "2024-11-05T10:21:37+01:00",
    "GIT_COMMITTER_NAME": "Ada Lovelace",
    "GIT_COMMITTER_EMAIL": "ada@acme.example",
    "GIT_COMMITTER_DATE": "2024-11-05T10:21:37+01:00",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/nonexistent",
}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], env=GIT_ENV, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("payments\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "Add README\n\nLonger body.\nMore lines.")
    git(path, "remote", "add", "origin", "https://ci-bot:ghp_s3cret@github.com/acme/payments.git")
    git(path, "remote", "add", "mirror", "git@gitlab.com:acme/payments.git")
    return path


def test_head_info_clean(repo: Path) -> None:
    info = head_info(repo)
    assert info is not None
    assert info["commit"] == git(repo, "rev-parse", "HEAD")
    assert re.fullmatch(r"[0-9a-f]{40}", info["commit"])
    assert info["branch"] == "main"
    assert info["dirty"] is False
    assert info["author_name"] == "Ada Lovelace"
    assert info["author_email"] == "ada@acme.example"
    assert info["date"] == "2024-11-05T10:21:37+01:00"
    assert info["message"] == "Add README"
    assert info["remotes"] == [
        {"name": "origin", "url": "https://github.com/acme/payments.git"},
        {"name": "mirror", "url": "git@gitlab.com:acme/payments.git"},
    ]
    assert "s3cret" not in repr(info)


def test_head_info_dirty_and_from_subdirectory(repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    sub = repo / "src"
    sub.mkdir()
    info = head_info(sub)
    assert info is not None and info["dirty"] is True


def test_untracked_file_is_dirty(repo: Path) -> None:
    (repo / "new.txt").write_text("x")
    info = head_info(repo)
    assert info is not None and info["dirty"] is True


def test_detached_head(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach", "HEAD")
    info = head_info(repo)
    assert info is not None
    assert info["branch"] is None
    assert info["commit"] == git(repo, "rev-parse", "HEAD")


def test_no_remotes(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first")
    info = head_info(tmp_path)
    assert info is not None and info["remotes"] == []


def test_outside_a_repo_or_without_commit(tmp_path: Path) -> None:
    assert head_info(tmp_path) is None
    assert head_info(tmp_path / "missing") is None
    git(tmp_path, "init", "-q")
    assert head_info(tmp_path) is None  # no commit yet
    assert head_info(tmp_path / ".git") is None  # inside .git is not a work tree


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://user:tok@host/x", "https://host/x"),
        (
            "https://x-access-token:ghs_abc@github.com/acme/api.git",
            "https://github.com/acme/api.git",
        ),
        ("https://ghp_tokenonly@github.com/acme/api", "https://github.com/acme/api"),
        ("http://u:p@host:8080/x?y=1", "http://host:8080/x?y=1"),
        ("ssh://git:pw@host/x.git", "ssh://git@host/x.git"),
        ("ssh://git@host/x.git", "ssh://git@host/x.git"),
        ("git@github.com:acme/api.git", "git@github.com:acme/api.git"),
        ("/srv/git/api.git", "/srv/git/api.git"),
        ("https://github.com/acme/api", "https://github.com/acme/api"),
    ],
)
def test_strip_credentials(url: str, clean: str) -> None:
    assert strip_credentials(url) == clean


def test_unsigned_commit_has_no_signature(repo: Path) -> None:
    info = head_info(repo)
    assert info is not None and info["signature"] == ""


def test_ssh_signed_commit_records_its_signature(repo: Path, tmp_path: Path) -> None:
    key = tmp_path / "signing"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    git(repo, "config", "gpg.format", "ssh")
    git(repo, "config", "user.signingkey", str(key))
    (repo / "signed.txt").write_text("x\n")
    git(repo, "add", "signed.txt")
    git(repo, "commit", "-q", "-S", "-m", "Signed")
    info = head_info(repo)
    assert info is not None
    assert info["signature"].startswith("-----BEGIN SSH SIGNATURE-----")
    assert info["signature"].rstrip().endswith("-----END SSH SIGNATURE-----")
    assert info["message"] == "Signed"
