// SPDX-License-Identifier: MIT
// The interactive case viewer of the report and of `mprotonet explain` (report/viewer.h): NiiVue
// (niivue.umd.js, loaded before this script) shows the case's volumes, embedded in the page as
// base64 gzipped NIfTI in <script type="application/json" class="mpv-data"> (the page works from
// file:// with no network: nothing is fetched). Controls are static HTML written by the C++ side
// (already escaped); this script wires them. With `#selftest` in the URL every viewer checks
// itself (pixels drawn, overlay switch changes the picture) and the verdicts are written to the
// attribute data-viewer-selftest of <html> (read by the browser tests through --dump-dom).
(function () {
  'use strict';
  var selftest = window.location.hash === '#selftest';
  var verdicts = [];
  var pending = 0;

  function bytes(b64) {
    var s = window.atob(b64);
    var a = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    return a;
  }

  function hasWebGL2() {
    try {
      return !!document.createElement('canvas').getContext('webgl2');
    } catch (e) {
      return false;
    }
  }

  function q(root, cls) { return root.querySelector('.' + cls); }

  function image(v, extra) {
    var o = { url: bytes(v.data), name: v.file };
    for (var k in extra) o[k] = extra[k];
    return window.niivue.NVImage.loadFromUrl(o);
  }

  // Pixels of the canvas right after drawing (no preserveDrawingBuffer needed): how many differ
  // from the background, and a checksum of the whole picture.
  function snapshot(nv) {
    nv.drawScene();
    var gl = nv.gl;
    var w = gl.drawingBufferWidth, h = gl.drawingBufferHeight;
    var px = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
    var lit = 0, sum = 0;
    for (var i = 0; i < px.length; i += 4) {
      if (px[i] > 8 || px[i + 1] > 8 || px[i + 2] > 8) lit++;
      sum = (sum * 31 + px[i] + 3 * px[i + 1] + 7 * px[i + 2]) % 1000000007;
    }
    return { lit: lit, sum: sum, pixels: w * h };
  }

  function finish(verdict) {
    verdicts.push(verdict);
    pending--;
    if (pending === 0) document.documentElement.setAttribute('data-viewer-selftest', JSON.stringify(verdicts));
  }

  async function setup(root) {
    var status = q(root, 'mpv-status');
    var data = JSON.parse(q(root, 'mpv-data').textContent);
    if (!window.niivue) {
      status.textContent = 'The viewer\'s script (niivue.umd.js, beside this page) did not load; the pictures show the case.';
      root.setAttribute('data-state', 'no-bundle');
      return { id: root.id, ok: false, why: 'niivue.umd.js not loaded' };
    }
    if (!hasWebGL2()) {
      status.textContent = 'The interactive viewer needs WebGL2, which this browser does not offer; the pictures show the case.';
      root.setAttribute('data-state', 'no-webgl');
      return { id: root.id, ok: false, why: 'no WebGL2' };
    }
    var nv = new window.niivue.Niivue({
      backColor: [0, 0, 0, 1], show3Dcrosshair: true, isColorbar: true, logLevel: 'error',
      multiplanarShowRender: window.niivue.SHOW_RENDER.ALWAYS, dragAndDropEnabled: false,
      isResizeCanvas: true
    });
    await nv.attachToCanvas(q(root, 'mpv-canvas'));
    nv.setSliceType(nv.sliceTypeMultiplanar);
    var bases = [];
    for (var i = 0; i < data.bases.length; i++)
      bases.push(await image(data.bases[i], { colormap: 'gray', colorbarVisible: false }));
    var labels = null;
    if (data.labels) {
      labels = await image(data.labels, { colormap: 'gray', opacity: 0.5, colorbarVisible: false });
      labels.setColormapLabel({
        R: [0, 230, 40, 0, 255], G: [0, 40, 200, 0, 220], B: [0, 40, 60, 0, 0], A: [0, 255, 255, 0, 255],
        labels: ['', 'necrotic core', 'edema', '', 'enhancing']
      });
    }
    // maps[k]: one volume, or one per modality (T1, T1CE, T2, FLAIR) when the map differs between channels.
    var maps = [];
    for (var m = 0; m < data.maps.length; m++) {
      var per = [];
      for (var c = 0; c < data.maps[m].length; c++) {
        var v = data.maps[m][c];
        per.push(await image(v, { colormap: 'warm', opacity: 0.6, cal_min: v.cal_min, cal_max: v.cal_max }));
      }
      maps.push(per);
    }
    var allMaps = [].concat.apply([], maps);
    // Prototype sources: decoded on first use (a report holds many).
    var sources = data.sources || [], sourceImages = data.source_images || [];
    var sourceCache = {};
    async function sourceVolumes(s) {
      if (!sourceCache[s]) {
        var src = sources[s], imgs = [];
        for (var i = 0; i < sourceImages[src.images].length; i++)
          imgs.push(await image(sourceImages[src.images][i], { colormap: 'gray', colorbarVisible: false }));
        var map = await image(src.map, { colormap: 'warm', opacity: 0.6, cal_min: src.map.cal_min, cal_max: src.map.cal_max });
        sourceCache[s] = { bases: imgs, map: map };
      }
      return sourceCache[s];
    }

    var baseSel = q(root, 'mpv-base'), mapSel = q(root, 'mpv-map'), opacity = q(root, 'mpv-opacity');
    var labelSel = q(root, 'mpv-labels'), layout = q(root, 'mpv-layout'), info = q(root, 'mpv-info');
    var sourceSel = q(root, 'mpv-source');
    var shownSource = null;  // decoded volumes of the source shown, or null: the case itself
    function current() {
      var b = baseSel ? Number(baseSel.value) : 0;
      if (shownSource) return { want: [shownSource.bases[b], shownSource.map], map: shownSource.map, outline: 0 };
      var want = [bases[b]];
      var lab = labelSel ? labelSel.value : 'off';
      if (labels && lab !== 'off') want.push(labels);
      var k = mapSel ? Number(mapSel.value) : -1;
      var map = k >= 0 && maps[k] ? maps[k][maps[k].length === bases.length ? b : 0] : null;
      if (map) want.push(map);
      return { want: want, map: map, outline: lab === 'outline' ? 1 : 0 };
    }
    function show() {
      var c = current();
      nv.volumes.slice().forEach(function (v) { if (c.want.indexOf(v) < 0) nv.removeVolume(v); });
      c.want.forEach(function (v, index) {
        if (nv.volumes.indexOf(v) < 0) nv.addVolume(v);
        nv.setVolume(v, index);
      });
      if (c.map && opacity) c.map.opacity = Number(opacity.value) / 100;
      if (labels) labels.opacity = c.outline ? 1 : 0.45;
      nv.opts.atlasOutline = c.outline;
      nv.updateGLVolume();
      nv.drawScene();
    }
    nv.onLocationChange = function (d) { if (info) info.textContent = d.string; };
    [baseSel, mapSel, opacity, labelSel].forEach(function (e) { if (e) e.addEventListener('input', show); });
    async function showSource() {
      var s = sourceSel ? Number(sourceSel.value) : -1;
      shownSource = s >= 0 ? await sourceVolumes(s) : null;
      if (mapSel) mapSel.disabled = !!shownSource;
      if (labelSel) labelSel.disabled = !!shownSource;
      show();
    }
    if (sourceSel) sourceSel.addEventListener('input', function () {
      showSource().catch(function (e) { status.textContent = 'Could not open the source case: ' + e.message; });
    });
    root.mpvOpenSource = async function (s) {
      sourceSel.value = String(s);
      await showSource();
      root.scrollIntoView({ behavior: 'smooth', block: 'center' });
    };
    if (layout) layout.addEventListener('input', function () {
      nv.setSliceType(Number(layout.value));
    });
    show();
    status.textContent = '';
    root.setAttribute('data-state', 'ready');
    if (!selftest) return null;
    // Self-test: something is drawn, and switching the overlay changes the picture.
    var before = snapshot(nv);
    var changed = null;
    if (mapSel && mapSel.options.length > 1) {
      var old = mapSel.value;
      mapSel.value = old === '-1' ? mapSel.options[1].value : '-1';
      show();
      var after = snapshot(nv);
      changed = after.sum !== before.sum;
      mapSel.value = old;
      show();
    }
    // A prototype's source case replaces the case and draws too.
    var source = null;
    if (sourceSel && sources.length > 0) {
      sourceSel.value = '0';
      await showSource();
      var s0 = snapshot(nv);
      source = s0.lit > 0 && s0.sum !== before.sum;
      sourceSel.value = '-1';
      await showSource();
    }
    return { id: root.id, ok: before.lit > 0 && changed !== false && source !== false, lit: before.lit, pixels: before.pixels,
             overlay_changes: changed, source_draws: source, sources: sources.length,
             volumes: bases.length + (labels ? 1 : 0) + allMaps.length };
  }

  // "open in the 3D view" buttons of the prototype cards.
  document.addEventListener('click', function (e) {
    var b = e.target && e.target.closest ? e.target.closest('.mpv-open') : null;
    if (!b) return;
    var root = document.getElementById(b.getAttribute('data-viewer'));
    if (root && root.mpvOpenSource) root.mpvOpenSource(Number(b.getAttribute('data-source')));
  });

  function start() {
    var roots = Array.prototype.slice.call(document.querySelectorAll('.mpv'));
    pending = roots.length;
    if (selftest && pending === 0) document.documentElement.setAttribute('data-viewer-selftest', '[]');
    roots.forEach(function (root) {
      setup(root).then(function (v) {
        if (selftest) finish(v || { id: root.id, ok: false, why: 'no verdict' });
      }, function (e) {
        var status = q(root, 'mpv-status');
        if (status) status.textContent = 'The viewer could not start: ' + (e && e.message ? e.message : String(e));
        root.setAttribute('data-state', 'failed');
        if (selftest) finish({ id: root.id, ok: false, why: String(e && e.message ? e.message : e) });
      });
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
