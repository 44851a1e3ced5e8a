"""Provenance of a fresh analysis: the command, package versions and device.

Recorded into the study's configuration when an analysis runs, so the report's
reproducibility block says how the numbers were made (a report rendered later fills
missing versions from the rendering machine instead, and says so).
"""

from __future__ import annotations

import dataclasses


def provenance() -> dict:
    """Versions and device of this process (recorded with a fresh analysis)."""
    from importlib import metadata

    versions: dict[str, str] = {}
    for pkg in ("chaosgrad", "jax", "jaxlib", "diffrax", "equinox", "numpy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    out: dict[str, dict[str, str] | str] = {"versions": versions}
    try:
        import jax

        devs = jax.devices()
        out["device"] = f"{len(devs)} x {devs[0].platform} ({getattr(devs[0], 'device_kind', '')})".strip()
    except Exception:  # no backend: leave the device unrecorded
        pass
    return out


def with_provenance(study, command: str):
    """Add the command, versions and device to the study's config where they are missing."""
    cfg = dict(study.config or {})
    dcfg = study.diagnosis.config or {}
    cfg.setdefault("command", command)
    prov = provenance()
    if not (cfg.get("versions") or dcfg.get("versions")):
        cfg["versions"] = prov["versions"]
    if "device" in prov and not (cfg.get("device") or dcfg.get("device")):
        cfg["device"] = prov["device"]
    return dataclasses.replace(study, config=cfg)
