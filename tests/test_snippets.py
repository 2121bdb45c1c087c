"""The server-side hash snippets in docs/snippets, run for real in their own languages.

Each snippet's ``main`` reads the secret from ``COUNTERSIGN_IDENTITY_SECRET`` and one
identifier from stdin, and prints the lowercase hex HMAC-SHA256. Every language must
print exactly what Python's ``hmac`` computes, for the same vectors, and
docs/server-side-hash.md must show each file exactly as it is tested.

A missing toolchain skips that language with the reason, except in CI (``CI=true``)
for the toolchains the test command installs: there a skip would hide a broken
snippet, so it fails instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = ROOT / "docs" / "snippets"
GUIDE = ROOT / "docs" / "server-side-hash.md"
SECRET_ENV = "COUNTERSIGN_IDENTITY_SECRET"
IN_CI = os.environ.get("CI") == "true"
RFC_4231_CASE_2 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
TIMEOUT = 60


@dataclass(frozen=True)
class Language:
    name: str
    source: str  # relative to docs/snippets
    fence: str  # the code block's info string in the guide
    tools: tuple[str, ...]  # executables it needs on PATH
    apt: str  # Debian packages that provide them
    installed_by_test_command: bool  # CI fails rather than skips when a tool is missing


LANGUAGES = (
    Language("python", "python.py", "python", (), "", True),
    Language("node", "node.js", "js", ("node",), "nodejs", True),
    Language("php", "php.php", "php", ("php",), "php-cli", True),
    Language("ruby", "ruby.rb", "ruby", ("ruby",), "ruby", True),
    Language("go", "go/main.go", "go", ("go",), "golang-go", True),
    Language(
        "java", "CountersignHash.java", "java", ("javac", "java"), "default-jdk-headless", True
    ),
    Language("csharp", "csharp.cs", "csharp", ("mcs", "mono"), "mono-mcs", True),
)


#: Shaped like a secret the dashboard generates.
SECRET = "css_7Qm2vX9pL4rT8kW1zYb3NfHc0dE5uJ6aS_oI-gR"


@dataclass(frozen=True)
class Vector:
    name: str
    secret: str
    identifier: str


VECTORS = (
    Vector("rfc4231-case2", "Jefe", "what do ya want for nothing?"),
    Vector("numeric-id", SECRET, "1234"),
    Vector("email-uppercase", SECRET, "Ada.Lovelace@Example.COM"),
    Vector("latin-nfc", SECRET, "Zo\u00eb"),
    Vector("latin-nfd", SECRET, "Zoe\u0301"),
    Vector("cjk", SECRET, "用户-42"),
    Vector("emoji", SECRET, "user-\U0001f98a-\u2764\ufe0f"),
    Vector("internal-spaces", SECRET, "Ada Lovelace 1234"),
    Vector("surrounding-spaces", SECRET, "  user-1234 "),
    Vector("secret-non-ascii", "clé-secrète-ß-密钥-\U0001f511", "user-1234"),
    # hex of "Jefe": hex-decoding it would reproduce RFC 4231 case 2
    Vector("secret-looks-hex", "4a656665", "what do ya want for nothing?"),
    Vector(
        "secret-hex-64", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "42"
    ),
    # base64 of "Jefe": base64-decoding it would reproduce RFC 4231 case 2
    Vector("secret-looks-base64", "SmVmZQ==", "what do ya want for nothing?"),
)


def reference(secret: str, identifier: str) -> str:
    return hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


def subprocess_env(secret: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    env["LC_ALL"] = "C.UTF-8"
    env["GOTOOLCHAIN"] = "local"  # never download a Go toolchain
    env["GOFLAGS"] = ""
    if not any(k in env for k in ("GOCACHE", "XDG_CACHE_HOME", "HOME")):
        env["GOCACHE"] = str(Path(os.environ.get("TMPDIR", "/tmp")) / "countersign-go-cache")
    if secret is not None:
        env[SECRET_ENV] = secret
    return env


def unavailable(reason: str, language: Language) -> None:
    if IN_CI and language.installed_by_test_command:
        pytest.fail(f"{reason}: CI installs it ({language.apt}) and must run this snippet")
    pytest.skip(reason)


class Snippets:
    """Builds each compiled snippet once per session, into a temporary directory.

    ``source_dir`` and ``java_class`` name the snippets (tests/test_token_snippets.py
    builds its own set the same way); ``_csharp`` is the one step a set may build
    differently."""

    source_dir: Path = SNIPPETS
    java_class = "CountersignHash"

    def __init__(self, build_dir: Path) -> None:
        self.build_dir = build_dir
        self.commands: dict[str, list[str]] = {}
        self.build_errors: dict[str, str] = {}  # reported once per test, built only once

    def command(self, language: Language) -> list[str]:
        if language.name in self.build_errors:
            pytest.fail(self.build_errors[language.name])
        if language.name not in self.commands:
            missing = [tool for tool in language.tools if shutil.which(tool) is None]
            if missing:
                unavailable(
                    f"{' and '.join(missing)} not on PATH (Debian: {language.apt})", language
                )
            self.commands[language.name] = self._build(language)
        return self.commands[language.name]

    def _build(self, language: Language) -> list[str]:
        source = self.source_dir / language.source
        out = self.build_dir / language.name
        match language.name:
            case "python":
                return [sys.executable, str(source)]
            case "node" | "php" | "ruby":
                return [language.tools[0], str(source)]
            case "go":
                # Built from a copy, so nothing (not even a go.mod lookup) touches docs/.
                out.mkdir()
                shutil.copy(source, out / "main.go")
                self._compile(language, ["go", "build", "-o", "snippet", "main.go"], cwd=out)
                return [str(out / "snippet")]
            case "java":
                self._compile(
                    language, ["javac", "-encoding", "UTF-8", "-d", str(out), str(source)]
                )
                return ["java", "-Xshare:auto", "-cp", str(out), self.java_class]
            case "csharp":
                out.mkdir()
                return self._csharp(language, source, out)
        raise AssertionError(language.name)

    def _csharp(self, language: Language, source: Path, out: Path) -> list[str]:
        exe = out / "CountersignHash.exe"
        self._compile(language, ["mcs", "-nologo", f"-out:{exe}", str(source)])
        return ["mono", str(exe)]

    def _compile(self, language: Language, argv: list[str], cwd: Path | None = None) -> None:
        result = subprocess.run(
            argv,
            cwd=cwd or self.build_dir,
            env=subprocess_env(None),
            capture_output=True,
            text=True,
            timeout=TIMEOUT * 3,
            check=False,
        )
        if result.returncode != 0:
            self.build_errors[language.name] = (
                f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}"
            )
            pytest.fail(self.build_errors[language.name])


@pytest.fixture(scope="session")
def snippets(tmp_path_factory: pytest.TempPathFactory) -> Snippets:
    return Snippets(tmp_path_factory.mktemp("snippets"))


def run(
    command: list[str], secret: str | None, identifier: str
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        command,
        input=identifier.encode(),
        env=subprocess_env(secret),
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )


LANGUAGE_PARAMS = [pytest.param(language, id=language.name) for language in LANGUAGES]
VECTOR_PARAMS = [pytest.param(vector, id=vector.name) for vector in VECTORS]


@pytest.mark.parametrize("vector", VECTOR_PARAMS)
@pytest.mark.parametrize("language", LANGUAGE_PARAMS)
def test_snippet_matches_python_hmac(
    snippets: Snippets, language: Language, vector: Vector
) -> None:
    result = run(snippets.command(language), vector.secret, vector.identifier)
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, f"{language.name} exited {result.returncode}:\n{stderr}"
    assert result.stdout == f"{reference(vector.secret, vector.identifier)}\n".encode(), stderr


@pytest.mark.parametrize("language", LANGUAGE_PARAMS)
def test_snippet_refuses_to_sign_without_a_secret(snippets: Snippets, language: Language) -> None:
    # An unset variable must be an error, never an HMAC keyed with "".
    result = run(snippets.command(language), None, "user-1234")
    assert result.returncode != 0
    assert reference("", "user-1234").encode() not in result.stdout


@pytest.mark.parametrize("language", LANGUAGE_PARAMS)
def test_guide_shows_the_tested_file(language: Language) -> None:
    source = (SNIPPETS / language.source).read_text(encoding="utf-8")
    guide = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```(\S*)\n(.*?)^```$", guide, flags=re.MULTILINE | re.DOTALL)
    assert (language.fence, source) in blocks, (
        f"docs/server-side-hash.md must embed docs/snippets/{language.source} verbatim"
    )
    assert f"`docs/snippets/{language.source}`" in guide


def test_vectors_cover_the_published_value_and_the_traps() -> None:
    by_name = {vector.name: vector for vector in VECTORS}
    rfc = by_name["rfc4231-case2"]
    assert reference(rfc.secret, rfc.identifier) == RFC_4231_CASE_2
    # The secrets that look encoded would give the RFC value if a snippet decoded them.
    hexish, b64ish = by_name["secret-looks-hex"], by_name["secret-looks-base64"]
    assert bytes.fromhex(hexish.secret) == base64.b64decode(b64ish.secret) == b"Jefe"
    assert reference(hexish.secret, hexish.identifier) != RFC_4231_CASE_2
    assert reference(b64ish.secret, b64ish.identifier) != RFC_4231_CASE_2
    # No normalisation: the NFC and NFD spellings of "Zoë" sign differently.
    assert reference("k", by_name["latin-nfc"].identifier) != reference(
        "k", by_name["latin-nfd"].identifier
    )
