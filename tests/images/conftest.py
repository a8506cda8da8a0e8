import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test stores its images in a directory of its own (file-system storage)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_STORAGE = "file"
    settings.MEDIA_ACCEL_REDIRECT = ""
    return settings.MEDIA_ROOT


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
