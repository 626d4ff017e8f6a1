#!/usr/bin/env bash
# Screenshots of built documentation pages, to check by eye that nothing is
# cut off (code lines, tables, figures, sidebars) at a wide and a narrow
# window. Not part of CI: run it after a change of layout, style or examples.
#
#   bash tools/doc_screenshots.sh [BUILD_DIR] [OUT_DIR]
#
# BUILD_DIR defaults to doc/_build/html, built first when it has no
# index.html (python -m sphinx -W -q -b html doc doc/_build/html, with the
# doc extra installed). Screenshots go to OUT_DIR (default
# /tmp/doc_screenshots), as <page>-<width>.png, each the whole page (up to
# 16000 px tall).
# Needs headless Chromium (Debian: apt-get install chromium); set CHROMIUM to
# use another binary. Exit status 1 when an element is clipped.
#
# Besides the pictures, each page is checked in the browser itself: every
# element that reaches past the window, or past an ancestor that hides its
# overflow or makes it scroll sideways, is printed as CLIPPED; so is a class
# or method name broken over two lines in a sidebar, and, at 1280 px or more,
# a code block whose lines need sideways scrolling (narrower, code and tables
# may scroll). Run with WIDTHS="1280 1200 800" to try other widths.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-doc/_build/html}
OUT=${2:-/tmp/doc_screenshots}
CHROMIUM=${CHROMIUM:-chromium}
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=${PYTHON:-.venv/bin/python}

PAGES=(
  index.html
  generated/gmm_estimators.GaussianMixtureSelector.html
  auto_examples/plot_select_n_components.html
)
read -r -a WIDTHS <<<"${WIDTHS:-1280 800}"

if [ ! -f "$BUILD/index.html" ]; then
  "$PY" -m sphinx -W -q -b html doc "$BUILD"
fi
mkdir -p "$OUT"
BUILD=$(cd "$BUILD" && pwd)

# A script, run in the page after load, that lists clipped elements in the
# page title (the one thing --dump-dom lets us read back cheaply).
CHECK_JS='
(function () {
  // Boxes that may scroll sideways: code, tables, maths. Anything else that
  // needs sideways scrolling to be read (a sidebar, a paragraph) is a defect.
  var SCROLLERS = "pre, .highlight, table, .table-wrapper, .pst-scrollable-table-container, .sphx-glr-script-out, .math, mjx-container";
  var width = document.documentElement.clientWidth;
  var bad = [], seen = new Set();
  function check(rect, start, label) {
    if (rect.width === 0 || rect.height === 0) return;
    var why = null;
    for (var box = start; box && box !== document.documentElement; box = box.parentElement) {
      var style = getComputedStyle(box);
      if (style.visibility === "hidden" || box.clientWidth <= 2) return;  // screen-reader text
      var ov = style.overflowX;
      if (ov === "visible") continue;
      var edge = box.getBoundingClientRect().left + box.clientLeft + box.clientWidth;
      if (rect.right <= edge + 1) continue;
      var name = box.tagName.toLowerCase() + "." + String(box.className).split(" ")[0];
      if (ov === "hidden" || ov === "clip") why = "cut by " + name;
      else if (!box.matches(SCROLLERS)) why = "sideways scrolling in " + name;
      else return;  // a code block or table that scrolls: nothing lost
      break;
    }
    if (!why && rect.right > width + 1) why = "past the window";
    if (why && !seen.has(why + label)) {
      seen.add(why + label);
      bad.push(label.slice(0, 40) + " (" + why + ")");
    }
  }
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  var range = document.createRange();
  for (var node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.trim()) continue;
    range.selectNodeContents(node);
    check(range.getBoundingClientRect(), node.parentElement, node.data.trim());
  }
  // Code that needs sideways scrolling hides its line ends: a defect at a
  // desktop width of 1280 px or more, tolerated below (doc/_static/custom.css).
  if (width >= 1280) {
    document.querySelectorAll("pre").forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        var longest = el.innerText.split("\n").reduce(function (a, b) {
          return b.length > a.length ? b : a; }, "").trim();
        bad.push(longest.slice(0, 40) + " (code scrolls: " + el.scrollWidth + " > " + el.clientWidth + " px)");
      }
    });
  }
  // A one-word name in a sidebar (a class, a method) broken over two lines.
  document.querySelectorAll(".bd-sidebar-primary a, .bd-sidebar-secondary a").forEach(function (a) {
    var text = a.innerText.trim();
    if (!text || /\s/.test(text) || a.getBoundingClientRect().height === 0) return;
    var tops = new Set(), w = document.createTreeWalker(a, NodeFilter.SHOW_TEXT);
    for (var n = w.nextNode(); n; n = w.nextNode()) {
      range.selectNodeContents(n);
      Array.from(range.getClientRects()).forEach(function (r) {
        if (r.width > 0) tops.add(Math.round(r.top));
      });
    }
    if (tops.size > 1) bad.push(text + " (name broken over two lines in a sidebar)");
  });
  document.querySelectorAll("img, svg, canvas, video, iframe").forEach(function (el) {
    check(el.getBoundingClientRect(), el.parentElement,
          el.tagName.toLowerCase() + " " + (el.getAttribute("alt") || el.getAttribute("src") || ""));
  });
  document.title = "CHECK " + document.documentElement.scrollHeight + " " + (bad.length ? bad.slice(0, 8).join(" | ")
    + (bad.length > 8 ? " | ... " + bad.length + " in all" : "") : "ok");
})();
'

status=0
for page in "${PAGES[@]}"; do
  for width in "${WIDTHS[@]}"; do
    name=$(basename "$page" .html)-$width
    # The page with the check injected; its verdict (and the page height)
    # read back from the title.
    tmp="$BUILD/.screenshot-check.html"
    "$PY" - "$BUILD/$page" "$tmp" "$CHECK_JS" <<'EOF'
import sys
from pathlib import Path

page, out, js = sys.argv[1:]
html = Path(page).read_text(encoding="utf-8")
base = f'<base href="{Path(page).resolve().as_uri()}">'
html = html.replace("<head>", "<head>" + base, 1)
script = "<script>window.addEventListener('load', function () {" + js + "});</script>"
Path(out).write_text(html.replace("</body>", script + "</body>", 1), encoding="utf-8")
EOF
    verdict=$("$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
      --window-size="$width,1000" --virtual-time-budget=3000 --dump-dom \
      "file://$tmp" 2>/dev/null | grep -o '<title>CHECK [^<]*' | sed 's/<title>CHECK //' \
      | "$PY" -c 'import html, sys; print(html.unescape(sys.stdin.read()).strip())' || true)
    rm -f "$tmp"
    # The whole page in one picture (at most 16000 px tall).
    height=${verdict%% *}
    case "$height" in '' | *[!0-9]*) height=4000 ;; esac
    [ "$height" -gt 16000 ] && height=16000
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
      --window-size="$width,$height" --screenshot="$OUT/$name.png" \
      "file://$BUILD/$page" >/dev/null 2>&1
    case "${verdict#* }" in
      ok) echo "$name: nothing clipped -> $OUT/$name.png ($width x $height)" ;;
      "") echo "$name: the check did not run -> $OUT/$name.png"; status=1 ;;
      *) echo "$name: CLIPPED ${verdict#* } -> $OUT/$name.png"; status=1 ;;
    esac
  done
done
exit $status
