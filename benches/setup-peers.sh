#!/usr/bin/env bash
# Install the peer tools that benches/compare.sh measures sohoa against
# (DESIGN.md §5): GNU time, Tesseract + Vietnamese model, poppler-utils,
# OCRmyPDF (+ its helpers Ghostscript, qpdf, pngquant, unpaper) and img2pdf.
#
# Idempotent: every package that is already present is skipped, and
# `apt-get update` runs only when something actually has to be installed.
# Must run as root (or with sudo available) for the Debian packages.
set -euo pipefail

APT_PACKAGES=(
    time              # /usr/bin/time (GNU time: %e %U %S %M)
    ghostscript       # OCRmyPDF's PDF/A conversion
    qpdf
    poppler-utils     # pdftotext, pdfinfo
    tesseract-ocr
    tesseract-ocr-vie # /usr/share/tesseract-ocr/5/tessdata/vie.traineddata
    pngquant          # OCRmyPDF optimisation (optional for it, cheap to have)
    unpaper           # OCRmyPDF --clean (optional for it, cheap to have)
)
PIP_PACKAGES=(ocrmypdf img2pdf)

log() { printf '[setup-peers] %s\n' "$*" >&2; }

# Prefix for commands that need root.
as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_apt_packages() {
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if ! dpkg -s "$pkg" >/dev/null 2>&1 ||
            ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        log "Debian packages: all present (${APT_PACKAGES[*]})"
        return
    fi
    log "Debian packages to install: ${missing[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# Pick the pip that belongs to the python3 on PATH (pyenv here), so that the
# console scripts land next to it.
pip_cmd() {
    python3 -m pip "$@"
}

install_pip_packages() {
    if ocrmypdf --version >/dev/null 2>&1 && img2pdf --version >/dev/null 2>&1; then
        log "ocrmypdf $(ocrmypdf --version) and img2pdf present"
        return
    fi
    log "pip install ${PIP_PACKAGES[*]}"
    pip_cmd install --upgrade "${PIP_PACKAGES[@]}"
    # pyenv keeps console scripts behind shims that need a rehash.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
}

report_versions() {
    log "versions:"
    {
        echo "  tesseract   $(tesseract --version 2>&1 | sed -n 1p)"
        echo "  vie model   $(ls -l "$(dpkg -L tesseract-ocr-vie | grep 'vie.traineddata$' | sed -n 1p)" 2>/dev/null | awk '{print $5" bytes "$NF}')"
        echo "  ocrmypdf    $(ocrmypdf --version 2>&1)"
        echo "  img2pdf     $(img2pdf --version 2>&1)"
        echo "  ghostscript $(gs --version 2>&1)"
        echo "  qpdf        $(qpdf --version 2>&1 | sed -n 1p)"
        echo "  pdftotext   $(pdftotext -v 2>&1 | sed -n 1p)"
        echo "  GNU time    $(/usr/bin/time --version 2>&1 | sed -n 1p)"
        echo "  python3     $(python3 --version 2>&1) ($(command -v python3))"
    } >&2
}

main() {
    install_apt_packages
    install_pip_packages
    report_versions
}

main "$@"
