"""The server-side identity-token snippets in docs/snippets/tokens, run for real.

Each snippet's ``main`` reads a private key (PKCS#8 PEM) from ``COUNTERSIGN_SIGNING_KEY``,
its kid from ``COUNTERSIGN_KEY_ID`` and one user id from stdin, and prints a JWT; the
token must verify with Countersign against only the public half, naming exactly that
user. docs/identity.md must show each file exactly as it is tested.

Six languages sign Ed25519 (EdDSA) with what they ship or with their everyday JWT
library; C# signs ES256, because .NET has no Ed25519 -- and Debian's C# toolchain,
Mono, implements neither Ed25519 nor ECDsa, so that snippet runs only where the .NET
SDK (``dotnet``) is installed, and is skipped with that reason elsewhere (CI too: the
test command installs Mono, which cannot run it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from countersign.core import KeyRing, PublicKeySet, parse_pem, verify_identity_token

from .test_snippets import ROOT, TIMEOUT, Language, Snippets, subprocess_env

SNIPPETS = ROOT / "docs" / "snippets" / "tokens"
GUIDE = ROOT / "docs" / "identity.md"
KID = "signing-2026"


@dataclass(frozen=True)
class TokenLanguage:
    language: Language
    alg: str


LANGUAGES = (
    TokenLanguage(Language("python", "python.py", "python", (), "", True), "EdDSA"),
    TokenLanguage(Language("node", "node.js", "js", ("node",), "nodejs", True), "EdDSA"),
    TokenLanguage(Language("php", "php.php", "php", ("php",), "php-cli", True), "EdDSA"),
    TokenLanguage(Language("ruby", "ruby.rb", "ruby", ("ruby",), "ruby", True), "EdDSA"),
    TokenLanguage(Language("go", "go/main.go", "go", ("go",), "golang-go", True), "EdDSA"),
    TokenLanguage(
        Language(
            "java", "CountersignToken.java", "java", ("javac", "java"), "default-jdk-headless", True
        ),
        "EdDSA",
    ),
    TokenLanguage(
        Language("csharp", "csharp.cs", "csharp", ("dotnet",), "(the .NET SDK)", False), "ES256"
    ),
)

IDENTIFIERS = [
    "1234",
    "Ada.Lovelace@Example.COM",
    "Zo\u00eb",
    "用户-42",
    "user-\U0001f98a",
    'say "hi" \\o/',
]


@dataclass(frozen=True)
class Keys:
    pem: dict[str, str]  # alg -> private PKCS#8 PEM
    public: dict[str, PublicKeySet]


@pytest.fixture(scope="session")
def keys() -> Keys:
    private = {
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
    }
    pem, public = {}, {}
    for alg, key in private.items():
        pem[alg] = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        public[alg] = PublicKeySet([parse_pem(public_pem, kid=KID, key_id="pub_test")])
    return Keys(pem, public)


class Builds(Snippets):
    """The hash snippets' builder (tests/test_snippets.py) over the token snippets: the
    same steps, but C#, which signs with .NET's ECDsa (Mono has neither it nor
    Ed25519), builds with the .NET SDK."""

    source_dir = SNIPPETS
    java_class = "CountersignToken"

    def _csharp(self, language: Language, source: Path, out: Path) -> list[str]:
        project = out / "snippet.csproj"
        project.write_text(
            '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><OutputType>Exe</OutputType>'
            "<TargetFramework>net8.0</TargetFramework><Nullable>disable</Nullable>"
            "</PropertyGroup></Project>"
        )
        shutil.copy(source, out / "Program.cs")
        self._compile(language, ["dotnet", "build", "-o", str(out / "bin")], cwd=out)
        return ["dotnet", str(out / "bin" / "snippet.dll")]


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    return Builds(tmp_path_factory.mktemp("token-snippets"))


def _run(command: list[str], pem: str | None, user_id: str) -> subprocess.CompletedProcess[bytes]:
    env = subprocess_env(None)
    if pem is not None:
        env["COUNTERSIGN_SIGNING_KEY"] = pem
        env["COUNTERSIGN_KEY_ID"] = KID
    return subprocess.run(
        command, input=user_id.encode(), env=env, capture_output=True, timeout=TIMEOUT, check=False
    )


PARAMS = [pytest.param(item, id=item.language.name) for item in LANGUAGES]


@pytest.mark.parametrize("item", PARAMS)
def test_the_token_verifies_against_the_public_key_only(
    builds: Builds, keys: Keys, item: TokenLanguage
) -> None:
    command = builds.command(item.language)
    for user_id in IDENTIFIERS:
        result = _run(command, keys.pem[item.alg], user_id)
        stderr = result.stderr.decode(errors="replace")
        assert result.returncode == 0, f"{item.language.name}: {stderr}"
        token = result.stdout.decode().strip()
        claims = verify_identity_token(
            token, KeyRing([]), public_keys=keys.public[item.alg], now=datetime.now(UTC)
        )
        assert claims.user_id == user_id, (item.language.name, user_id)
        assert claims.key_id == "pub_test"


@pytest.mark.parametrize("item", PARAMS)
def test_the_snippet_refuses_to_sign_without_a_key(builds: Builds, item: TokenLanguage) -> None:
    result = _run(builds.command(item.language), None, "user-1234")
    assert result.returncode != 0
    assert b"." not in result.stdout


@pytest.mark.parametrize("item", PARAMS)
def test_the_guide_shows_the_tested_file(item: TokenLanguage) -> None:
    language = item.language
    source = (SNIPPETS / language.source).read_text(encoding="utf-8")
    guide = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```(\S*)\n(.*?)^```$", guide, flags=re.MULTILINE | re.DOTALL)
    assert (language.fence, source) in blocks, (
        f"docs/identity.md must embed docs/snippets/tokens/{language.source} verbatim"
    )
    assert f"`docs/snippets/tokens/{language.source}`" in guide
