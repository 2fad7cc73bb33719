"""Provenance stage: a visible moving watermark on the frames, and a signed manifest on the MP4.

The watermark goes on frames before encoding. The manifest (what generated the video, from which
request, with whose consent) is embedded in the MP4 as C2PA by c2pa-python; when that fails, a
JSON sidecar signed with the same key carries the manifest and the MP4's SHA-256 instead.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from generation.pipeline.probe import sniff

GENERATION_LABEL = "com.doubletake.generation"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
SIDECAR_FORMAT = "doubletake.provenance.v1"
C2PA_MIME = {"mp4": "video/mp4", "quicktime": "video/quicktime"}
UNTRUSTED = "signingCredential.untrusted"
KEY_FILE, CHAIN_FILE = "signing-key.pem", "signing-chain.pem"
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


# --- 1. Visible watermark ------------------------------------------------------------------------
@dataclass(frozen=True)
class WatermarkSpec:
    text: str = "Doubletake · AI-generated"
    height_fraction: float = 0.035  # cap height, relative to the frame height
    max_width_fraction: float = 0.75  # leaves room to travel sideways on portrait frames
    margin_fraction: float = 0.04
    opacity: float = 0.7
    outline_opacity: float = 0.6
    # Unrelated periods: the path does not repeat within a clip, so no corner is ever clean.
    periods_s: tuple[float, float] = (23.0, 17.0)


@dataclass(frozen=True)
class _Label:
    keep: np.ndarray  # HxWx1 float32: how much of the frame shows through
    add: np.ndarray  # HxWx1 float32: premultiplied white of the fill


def watermark_box(
    t: float, height: int, width: int, spec: WatermarkSpec = WatermarkSpec()
) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the watermark at time t on a height x width frame."""
    label = _label(spec, height, width)
    h, w = label.keep.shape[:2]
    mx, my = round(width * spec.margin_fraction), round(height * spec.margin_fraction)
    span_x, span_y = max(0, width - 2 * mx - w), max(0, height - 2 * my - h)
    phase_x = math.sin(2 * math.pi * t / spec.periods_s[0])
    phase_y = math.sin(2 * math.pi * t / spec.periods_s[1] + math.pi / 3)
    x = min(width - w, mx + round(span_x * 0.5 * (1 + phase_x)))
    y = min(height - h, my + round(span_y * 0.5 * (1 + phase_y)))
    return max(0, x), max(0, y), w, h


def watermark_frame(
    frame: np.ndarray,
    t: float,
    *,
    text: str | None = None,
    spec: WatermarkSpec = WatermarkSpec(),
    inplace: bool = False,
) -> np.ndarray:
    """The frame (HxWx3 uint8 RGB) with the semi-transparent label where it is at time t."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 frame, got {frame.shape} {frame.dtype}")
    if text is not None and text != spec.text:
        spec = replace(spec, text=text)
    height, width = frame.shape[:2]
    label = _label(spec, height, width)
    x, y, w, h = watermark_box(t, height, width, spec)
    out = frame if inplace else frame.copy()
    region = out[y : y + h, x : x + w]
    blended = region * label.keep[: region.shape[0], : region.shape[1]]
    blended += label.add[: region.shape[0], : region.shape[1]]
    region[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return out


def watermark_frames(
    frames: Iterable[np.ndarray], fps: float, spec: WatermarkSpec = WatermarkSpec()
) -> Iterator[np.ndarray]:
    """Watermark a stream of frames (for encode's frame iterator), frame i at i / fps."""
    for index, frame in enumerate(frames):
        yield watermark_frame(frame, index / fps, spec=spec)


@functools.lru_cache(maxsize=16)
def _label(spec: WatermarkSpec, height: int, width: int) -> _Label:
    import cv2

    font = cv2.FONT_HERSHEY_SIMPLEX
    cap_at_one = cv2.getTextSize("H", font, 1.0, 2)[0][1]
    scale = spec.height_fraction * height / cap_at_one
    natural = _text_width(spec.text, scale, 1)
    scale = max(0.15, min(scale, scale * spec.max_width_fraction * width / max(1, natural)))
    thickness = max(1, round(scale * 1.6))
    outline = thickness + max(2, round(scale * 4))
    cap = cv2.getTextSize("H", font, scale, thickness)[0][1]
    # Hershey's reported sizes undercount thick strokes: draw roomy, then crop to the ink.
    size = (cap * 3 + 4 * outline, round(_text_width(spec.text, scale, 1) * 1.2) + 4 * outline)
    origin = (2 * outline, 2 * outline + cap + cap // 3)
    fill = _draw_text(spec.text, size, origin, scale, thickness)
    # The outline is the fill grown by a disc, not the text drawn again with a fatter stroke:
    # Hershey glyphs advance by their stroke width, so a second drawing drifts further from the
    # first with every letter, and the label reads doubled.
    grow = max(1, round((outline - thickness) / 2))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    edge = cv2.dilate(fill, disc)
    rows, cols = np.nonzero(edge.max(axis=1))[0], np.nonzero(edge.max(axis=0))[0]
    ink = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    a_fill, a_edge = fill[ink] * spec.opacity, edge[ink] * spec.outline_opacity
    keep = (1 - a_edge) * (1 - a_fill)
    return _Label(keep=keep[..., None], add=(255 * a_fill)[..., None])


def _pieces(text: str) -> list[str]:
    # Hershey fonts are ASCII only: the middle dot is drawn as a circle, other symbols as "?".
    ascii_text = "".join(c if c.isascii() or c == "·" else "?" for c in text)
    return ascii_text.split("·")


def _text_width(text: str, scale: float, thickness: int) -> int:
    import cv2

    font = cv2.FONT_HERSHEY_SIMPLEX
    pieces = _pieces(text)
    dot = cv2.getTextSize("o", font, scale, thickness)[0][0]
    widths = [cv2.getTextSize(piece, font, scale, thickness)[0][0] for piece in pieces]
    return sum(widths) + dot * (len(pieces) - 1)


def _draw_text(
    text: str, size: tuple[int, int], origin: tuple[int, int], scale: float, thickness: int
) -> np.ndarray:
    """An anti-aliased coverage mask in [0, 1] of the text drawn at the given stroke."""
    import cv2

    font = cv2.FONT_HERSHEY_SIMPLEX
    mask = np.zeros(size, dtype=np.uint8)
    x, baseline = origin
    dot = cv2.getTextSize("o", font, scale, 1)[0][0]
    cap = cv2.getTextSize("H", font, scale, 1)[0][1]
    for index, piece in enumerate(_pieces(text)):
        if index:
            centre = (x + dot // 2, baseline - cap // 2)
            radius = max(1, round(cap * 0.12 + (thickness - 1) / 2))
            cv2.circle(mask, centre, radius, 255, -1, cv2.LINE_AA)
            x += dot
        cv2.putText(mask, piece, (x, baseline), font, scale, 255, thickness, cv2.LINE_AA)
        x += cv2.getTextSize(piece, font, scale, 1)[0][0]
    return mask.astype(np.float32) / 255


# --- 2. Signing keys -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SigningKeys:
    private_key_pem: bytes  # the leaf's key, PKCS#8
    cert_chain_pem: bytes  # leaf first, then intermediates, then the root

    @property
    def root_pem(self) -> bytes:
        return _split_pems(self.cert_chain_pem)[-1]

    @classmethod
    def generate(cls, common_name: str, *, organization: str = "Doubletake") -> SigningKeys:
        """A fresh EC P-256 root CA and a leaf it issued, for tests and first runs.

        The root's key is thrown away: nothing can issue another leaf under this root.
        """
        root_key = ec.generate_private_key(ec.SECP256R1())
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        root = _root_cert(root_key, f"{common_name} root", organization)
        leaf = _leaf_cert(leaf_key, root, root_key, common_name, organization)
        return cls(_key_pem(leaf_key), _cert_pem(leaf) + _cert_pem(root))

    @classmethod
    def load(cls, directory: Path) -> SigningKeys:
        return cls((directory / KEY_FILE).read_bytes(), (directory / CHAIN_FILE).read_bytes())

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        key = directory / KEY_FILE
        # Created 0600 from the start, so the key is never readable by others, even briefly.
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.private_key_pem)
        (directory / CHAIN_FILE).write_bytes(self.cert_chain_pem)


def _name(common_name: str, organization: str) -> x509.Name:
    cn = x509.NameAttribute(NameOID.COMMON_NAME, common_name)
    return x509.Name([cn, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _validity(builder: x509.CertificateBuilder, days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(hours=1)  # tolerate a little clock skew between machines
    return builder.not_valid_before(start).not_valid_after(now + datetime.timedelta(days=days))


def _root_cert(
    key: ec.EllipticCurvePrivateKey, common_name: str, organization: str
) -> x509.Certificate:
    name = _name(common_name, organization)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name)
    builder = _validity(builder.public_key(key.public_key()), 3650)
    builder = builder.serial_number(x509.random_serial_number())
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    builder = builder.add_extension(_usage(sign=False, ca=True), critical=True)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return builder.add_extension(ski, critical=False).sign(key, hashes.SHA256())


def _leaf_cert(
    key: PrivateKey,
    root: x509.Certificate,
    root_key: PrivateKey,
    common_name: str,
    organization: str,
) -> x509.Certificate:
    """A leaf C2PA accepts: digitalSignature, emailProtection, and both key identifiers."""
    builder = x509.CertificateBuilder().subject_name(_name(common_name, organization))
    builder = _validity(builder.issuer_name(root.subject).public_key(key.public_key()), 730)
    builder = builder.serial_number(x509.random_serial_number())
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
    builder = builder.add_extension(_usage(sign=True, ca=False), critical=True)
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION])
    builder = builder.add_extension(eku, critical=False)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key())
    builder = builder.add_extension(ski, critical=False).add_extension(aki, critical=False)
    return builder.sign(root_key, hashes.SHA256())


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _split_pems(chain: bytes) -> list[bytes]:
    marker = b"-----END CERTIFICATE-----"
    parts = [part.strip() + b"\n" + marker + b"\n" for part in chain.split(marker)[:-1]]
    if not parts:
        raise ValueError("the certificate chain holds no PEM certificate")
    return parts


# --- 3. The manifest -----------------------------------------------------------------------------
def canonical_json(value: Any) -> bytes:
    """The one byte form of a JSON value that signatures and digests are computed over."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def generation_manifest(
    *,
    pipeline: str,
    version: str,
    backends: dict[str, str],
    job: str,
    storyboard_sha256: str,
    consent_receipts: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The manifest shape the pipeline signs: what generated it, from what, with whose consent.

    consent_receipts maps each cast cameo's id to its (opaque) consent receipt.
    """
    receipts = consent_receipts or {}
    return {
        "generated": True,
        "pipeline": {"name": pipeline, "version": version},
        "backends": dict(backends),
        "request": {"job": job, "storyboard_sha256": storyboard_sha256},
        "cast": [{"cameo": cameo, "consent_receipt": dict(r)} for cameo, r in receipts.items()],
    }


def _check_manifest(manifest: dict[str, Any]) -> None:
    if not isinstance(manifest, dict) or manifest.get("generated") is not True:
        raise ValueError("a provenance manifest must be a dict with generated = true")
    try:
        canonical_json(manifest)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the provenance manifest is not plain JSON: {exc}") from None


DIGEST_KEY = "manifest_sha256"  # in the C2PA assertion: canonical_sha256 of the manifest


def _c2pa_definition(manifest: dict[str, Any], title: str, mime: str) -> dict[str, Any]:
    pipeline = manifest.get("pipeline") or {}
    agent = {
        "name": str(pipeline.get("name", "doubletake")),
        "version": str(pipeline.get("version", "0")),
    }
    created = {
        "action": "c2pa.created",
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": agent,
    }
    return {
        "claim_generator_info": [agent],
        "title": title,
        "format": mime,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [created]}},
            # The manifest's digest goes in too: C2PA's CBOR does not give every JSON value
            # back as it went in (a list of small numbers comes back as bytes), and the digest
            # lets a reader prove a copy kept elsewhere is the manifest that was signed.
            {
                "label": GENERATION_LABEL,
                "data": {**manifest, DIGEST_KEY: canonical_sha256(manifest)},
            },
        ],
    }


# --- 4. Signing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProvenanceResult:
    path: Path  # the signed MP4
    backend: str  # "c2pa" (embedded) or "sidecar" (signed JSON next to the MP4)
    sha256: str  # of the signed MP4's bytes
    sidecar: Path | None = None
    manifest_label: str = ""  # the C2PA manifest's urn, when C2PA ran
    fallback_reason: str = ""  # why C2PA did not run, when the sidecar did
    timings: dict[str, float] = field(default_factory=dict)


def sidecar_path(mp4: Path) -> Path:
    return mp4.with_name(f"{mp4.stem}.provenance.json")


def sign(
    mp4: Path,
    out_mp4: Path,
    manifest: dict[str, Any],
    *,
    keys: SigningKeys,
    backend: str = "auto",
) -> ProvenanceResult:
    """Sign mp4 into out_mp4 with the manifest: C2PA embedded, else a signed JSON sidecar.

    backend: "auto" (C2PA, falling back to the sidecar), "c2pa" (no fallback) or "sidecar".
    """
    if backend not in ("auto", "c2pa", "sidecar"):
        raise ValueError(f"unknown provenance backend {backend!r}")
    if mp4.resolve() == out_mp4.resolve():
        raise ValueError("sign() writes a new file: out_mp4 must differ from mp4")
    _check_manifest(manifest)
    began, reason = time.perf_counter(), ""
    if backend != "sidecar":
        try:
            label = _sign_c2pa(mp4, out_mp4, manifest, keys)
            took = {"provenance": round(time.perf_counter() - began, 4)}
            return ProvenanceResult(out_mp4, "c2pa", file_sha256(out_mp4), None, label, "", took)
        except Exception as exc:
            # Any failure here (unsupported file, rejected certificate, native library missing)
            # must not cost the video its provenance: the sidecar always works.
            if backend == "c2pa":
                raise
            reason = f"{type(exc).__name__}: {exc}"[:500]
    sidecar = _sign_sidecar(mp4, out_mp4, manifest, keys)
    took = {"provenance": round(time.perf_counter() - began, 4)}
    return ProvenanceResult(out_mp4, "sidecar", file_sha256(out_mp4), sidecar, "", reason, took)


def _mime(path: Path) -> str:
    with open(path, "rb") as handle:
        family = sniff(handle.read(64))
    if family not in C2PA_MIME:
        raise ValueError(f"C2PA signing here takes MP4 or MOV, not {family or 'unknown'}")
    return C2PA_MIME[family]


def _sign_c2pa(mp4: Path, out_mp4: Path, manifest: dict[str, Any], keys: SigningKeys) -> str:
    import c2pa

    mime = _mime(mp4)
    definition = json.dumps(_c2pa_definition(manifest, out_mp4.name, mime))
    info = c2pa.C2paSignerInfo(
        alg=_c2pa_alg(keys).encode(),
        sign_cert=keys.cert_chain_pem,
        private_key=keys.private_key_pem,
        ta_url=None,  # offline: no timestamp authority, so validity rests on the cert's dates
    )
    partial = out_mp4.with_name(f".{out_mp4.name}.signing")
    try:
        with (
            c2pa.Signer.from_info(info) as signer,
            c2pa.Builder(definition) as builder,
            open(mp4, "rb") as source,
            open(partial, "wb") as dest,
        ):
            builder.sign(signer, mime, source, dest)
        os.replace(partial, out_mp4)
    finally:
        partial.unlink(missing_ok=True)
    with open(out_mp4, "rb") as handle, c2pa.Reader(mime, handle) as reader:
        return str(json.loads(reader.json()).get("active_manifest", ""))


def _c2pa_alg(keys: SigningKeys) -> str:
    key = _private_key(keys)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {256: "es256", 384: "es384", 521: "es512"}[key.curve.key_size]
    raise ValueError("signing keys must be EC (P-256/384/521) or Ed25519")


def _private_key(keys: SigningKeys) -> PrivateKey:
    key = serialization.load_pem_private_key(keys.private_key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError("signing keys must be EC (P-256/384/521) or Ed25519")
    return key


def _sign_sidecar(mp4: Path, out_mp4: Path, manifest: dict[str, Any], keys: SigningKeys) -> Path:
    shutil.copyfile(mp4, out_mp4)
    payload = {
        "format": SIDECAR_FORMAT,
        "manifest": manifest,
        "asset": {"name": out_mp4.name, "sha256": file_sha256(out_mp4)},
        "signed_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cert_chain": keys.cert_chain_pem.decode("ascii"),
    }
    alg = "ed25519" if _c2pa_alg(keys) == "ed25519" else "ecdsa-sha256"
    value = _sign_bytes(_private_key(keys), canonical_json(payload))
    document = payload | {"signature": {"alg": alg, "value": base64.b64encode(value).decode()}}
    sidecar = sidecar_path(out_mp4)
    sidecar.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return sidecar


def _sign_bytes(key: PrivateKey, message: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))
    return key.sign(message)  # Ed25519 signs the message itself


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- 5. Reading and checking ---------------------------------------------------------------------
@dataclass(frozen=True)
class ManifestCheck:
    backend: str  # "c2pa", "sidecar", or "none" when the file carries no provenance
    manifest: dict[str, Any] | None
    signature_valid: bool  # the claim's signature verifies against the signing certificate
    tampered: bool  # the media bytes changed after signing
    trusted: bool  # the chain ends at the trust root that was asked for
    trust_checked: bool  # a trust root was given
    state: str = ""  # the C2PA reader's validation state, or the sidecar's verdict
    failures: tuple[str, ...] = ()  # validation codes that failed
    signer: str = ""  # the signing certificate's common name
    # The signed manifest's canonical_sha256, as signed (C2PA: carried in the assertion; older
    # files have none) or as read (sidecar: the JSON is kept exactly).
    manifest_sha256: str = ""

    @property
    def valid(self) -> bool:
        """Intact and signed; also trusted when a trust root was given."""
        intact = self.signature_valid and not self.tampered and self.manifest is not None
        return intact and (self.trusted or not self.trust_checked)


def read(
    mp4: Path, sidecar: Path | None = None, *, trust_root_pem: bytes | None = None
) -> ManifestCheck:
    """The manifest on mp4 and whether it holds: embedded C2PA first, else the signed sidecar."""
    if sidecar is None:
        check = _read_c2pa(mp4, trust_root_pem)
        if check is not None:
            return check
        sidecar = sidecar_path(mp4)
        if not sidecar.exists():
            return ManifestCheck("none", None, False, False, False, trust_root_pem is not None)
    return _read_sidecar(mp4, sidecar, trust_root_pem)


def _read_c2pa(mp4: Path, trust_root_pem: bytes | None) -> ManifestCheck | None:
    import c2pa

    try:
        mime = _mime(mp4)
    except ValueError:
        return None
    # The reader trusts nothing of ours by default (signingCredential.untrusted); the root
    # goes in as a user anchor so "Trusted" means "signed under this root".
    settings = {"trust": {"user_anchors": trust_root_pem.decode("ascii")}} if trust_root_pem else {}
    context = c2pa.Context.from_dict(settings) if settings else None
    with open(mp4, "rb") as handle:
        try:
            reader = c2pa.Reader.try_create(mime, handle, None, context)
        except c2pa.C2paError as exc:  # a manifest is there but cannot even be parsed
            failure = f"unreadable: {type(exc).__name__}"
            return ManifestCheck(
                "c2pa", None, False, True, False, context is not None, "Invalid", (failure,)
            )
        if reader is None:
            return None
        with reader:
            return _c2pa_check(reader, trust_root_pem is not None)


def _c2pa_check(reader: Any, trust_checked: bool) -> ManifestCheck:
    active = reader.get_active_manifest() or {}
    results = (reader.get_validation_results() or {}).get("activeManifest", {})
    failures = tuple(item["code"] for item in results.get("failure", []))
    successes = {item["code"] for item in results.get("success", [])}
    bad_signature = [c for c in failures if c.startswith(("claimSignature.", "signingCredential."))]
    manifest = _generation_assertion(active)
    digest = str(manifest.pop(DIGEST_KEY, "")) if manifest is not None else ""
    return ManifestCheck(
        backend="c2pa",
        manifest=manifest,
        manifest_sha256=digest,
        signature_valid="claimSignature.validated" in successes
        and set(bad_signature) <= {UNTRUSTED},
        tampered=any(code.endswith(".mismatch") for code in failures),
        trusted=reader.get_validation_state() == "Trusted",
        trust_checked=trust_checked,
        state=str(reader.get_validation_state() or ""),
        failures=failures,
        signer=str((active.get("signature_info") or {}).get("common_name", "")),
    )


def _generation_assertion(active: dict[str, Any]) -> dict[str, Any] | None:
    for assertion in active.get("assertions", []):
        if assertion.get("label") == GENERATION_LABEL:
            return dict(assertion.get("data") or {})
    return None


def _read_sidecar(mp4: Path, sidecar: Path, trust_root_pem: bytes | None) -> ManifestCheck:
    try:
        document = json.loads(sidecar.read_text("utf-8"))
        signature = base64.b64decode(document.pop("signature", {}).get("value", ""))
        chain = _split_pems(str(document.get("cert_chain", "")).encode("ascii"))
        leaf = _load_cert(chain[0])
    except (ValueError, AttributeError, UnicodeError):
        checked = trust_root_pem is not None
        return ManifestCheck(
            "sidecar", None, False, False, False, checked, "Invalid", ("malformed",)
        )
    verified = _verify(leaf.public_key(), signature, document)
    tampered = file_sha256(mp4) != document.get("asset", {}).get("sha256")
    trusted = trust_root_pem is not None and _chain_ends_at(chain, trust_root_pem)
    failures = [("signature.invalid", not verified), ("asset.sha256.mismatch", tampered)]
    failures += [("chain.untrusted", trust_root_pem is not None and not trusted)]
    manifest = document.get("manifest") if document.get("format") == SIDECAR_FORMAT else None
    return ManifestCheck(
        backend="sidecar",
        manifest=manifest,
        manifest_sha256=canonical_sha256(manifest) if manifest is not None else "",
        signature_valid=verified,
        tampered=tampered,
        trusted=trusted,
        trust_checked=trust_root_pem is not None,
        state="Invalid" if (tampered or not verified) else ("Trusted" if trusted else "Valid"),
        failures=tuple(code for code, failed in failures if failed),
        signer=_common_name(leaf),
    )


def _load_cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _verify(public_key: Any, signature: bytes, payload: dict[str, Any]) -> bool:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, canonical_json(payload), ec.ECDSA(hashes.SHA256()))
        else:
            public_key.verify(signature, canonical_json(payload))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _chain_ends_at(chain: list[bytes], trust_root_pem: bytes) -> bool:
    """Each certificate issued the one before it, and the last is the trust root itself."""
    certs = [_load_cert(pem) for pem in chain]
    root = _load_cert(_split_pems(trust_root_pem)[0])
    if certs[-1] != root:
        return False
    try:
        for child, parent in zip(certs, certs[1:], strict=False):
            child.verify_directly_issued_by(parent)
    except (InvalidSignature, ValueError, TypeError):
        return False
    now = datetime.datetime.now(datetime.UTC)
    return all(c.not_valid_before_utc <= now <= c.not_valid_after_utc for c in certs)


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""
