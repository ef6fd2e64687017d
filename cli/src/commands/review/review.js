// The review page's behaviour. All text from the job is inserted with textContent, never as HTML.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('review-data').textContent);
  var audio = document.getElementById('audio');
  var live = document.getElementById('live');
  var segById = new Map();
  var segOrder = new Map();
  var segEls = new Map();
  var sentences = [];
  var codeItems = [];
  var status = 'IN_REVIEW';
  var acceptedAt = null;
  var stopAt = null;
  var pendingSeek = null;

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') node.textContent = attrs[k];
        else if (k === 'className') node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      if (arguments[i] != null) node.appendChild(arguments[i]);
    }
    return node;
  }

  function humanize(name) {
    var s = String(name).replace(/_/g, ' ').toLowerCase();
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function clock(t) {
    var m = Math.floor(t / 60), s = Math.floor(t % 60);
    return m + ':' + (s < 10 ? '0' : '') + s;
  }

  function roleLabel(role) {
    var m = /^(CLINICIAN|PATIENT)_(\d+)$/.exec(role || '');
    if (!m) return role || 'Speaker';
    var base = m[1] === 'CLINICIAN' ? 'Clinician' : 'Patient';
    return m[2] === '0' ? base : base + ' ' + (Number(m[2]) + 1);
  }

  function announce(text) { live.textContent = text; }

  // ---- audio --------------------------------------------------------------------------------
  function seek(t) {
    if (!audio) return;
    if (audio.readyState >= 1) {
      audio.currentTime = t;
    } else {
      pendingSeek = t;
    }
  }
  if (audio) {
    audio.addEventListener('loadedmetadata', function () {
      if (pendingSeek !== null) { audio.currentTime = pendingSeek; pendingSeek = null; }
    });
    audio.addEventListener('timeupdate', function () {
      if (stopAt !== null && audio.currentTime >= stopAt) { audio.pause(); stopAt = null; }
    });
  }
  function play(seg) {
    if (!audio) return;
    seek(seg.begin);
    stopAt = seg.end;
    var p = audio.play();
    if (p && p.catch) p.catch(function () { /* the user can press play */ });
  }

  // ---- transcript ---------------------------------------------------------------------------
  var insightsBySeg = new Map();
  data.insights.forEach(function (ins) {
    ins.spans.forEach(function (span) {
      if (!insightsBySeg.has(span.segment)) insightsBySeg.set(span.segment, []);
      insightsBySeg.get(span.segment).push({ begin: span.begin, end: span.end, ins: ins });
    });
  });

  function segmentText(seg) {
    var p = el('p', { className: 'seg-text' });
    var chars = Array.from(seg.content);
    var spans = (insightsBySeg.get(seg.id) || []).slice().sort(function (a, b) { return a.begin - b.begin; });
    var pos = 0;
    spans.forEach(function (sp) {
      if (sp.begin < pos || sp.end >= chars.length || sp.end < sp.begin) return;
      if (sp.begin > pos) p.appendChild(document.createTextNode(chars.slice(pos, sp.begin).join('')));
      var ins = sp.ins;
      var label = humanize(ins.category) + (ins.type ? ' (' + humanize(ins.type) + ')' : '') +
        (ins.negated ? ', negated' : '') + (ins.traits.length ? ': ' + ins.traits.map(humanize).join(', ') : '');
      var mark = el('mark', {
        className: 'ins cat-' + String(ins.category).toLowerCase() + (ins.negated ? ' negated' : ''),
        title: label,
        'data-insight-id': ins.id,
        'data-category': ins.category,
        text: chars.slice(sp.begin, sp.end + 1).join('')
      });
      p.appendChild(mark);
      if (ins.negated) p.appendChild(el('span', { className: 'sr-only', text: ' (negated)' }));
      pos = sp.end + 1;
    });
    if (pos < chars.length) p.appendChild(document.createTextNode(chars.slice(pos).join('')));
    return p;
  }

  function renderTranscript() {
    var root = document.getElementById('transcript');
    var lastSection = null;
    data.segments.forEach(function (seg, i) {
      segById.set(seg.id, seg);
      segOrder.set(seg.id, i);
      if (seg.section !== lastSection) {
        root.appendChild(el('h3', { className: 'transcript-section', text: humanize(seg.section) }));
        lastSection = seg.section;
      }
      var kind = /^CLINICIAN/.test(seg.role) ? 'clinician' : 'patient';
      var playBtn = el('button', {
        type: 'button', className: 'seg-play',
        'aria-label': 'Play ' + roleLabel(seg.role) + ' at ' + clock(seg.begin),
        text: '▶ ' + clock(seg.begin)
      });
      var cited = el('div', { className: 'cited', hidden: '' });
      var row = el('div', { className: 'seg', id: 'seg-' + i, 'data-segment-id': seg.id },
        el('div', { className: 'seg-head' }, playBtn, el('span', { className: 'role ' + kind, text: roleLabel(seg.role) })),
        segmentText(seg),
        cited);
      row.addEventListener('click', function (ev) {
        if (ev.target.closest('.cited')) return;
        selectSegment(seg);
      });
      segEls.set(seg.id, row);
      root.appendChild(row);
    });
    var legend = document.getElementById('legend');
    var cats = Array.from(new Set(data.insights.map(function (i) { return i.category; })));
    cats.forEach(function (c) {
      legend.appendChild(el('span', { className: 'ins cat-' + c.toLowerCase(), text: humanize(c) }));
    });
    if (data.insights.some(function (i) { return i.negated; })) {
      legend.appendChild(el('span', { className: 'negated', text: 'negated' }));
    }
  }

  // ---- highlighting -------------------------------------------------------------------------
  function clearHighlights() {
    segEls.forEach(function (row) {
      row.classList.remove('evidence', 'playing');
      var c = row.querySelector('.cited');
      c.hidden = true;
      c.textContent = '';
    });
    sentences.forEach(function (s) { s.button.classList.remove('active', 'cites'); s.button.removeAttribute('aria-current'); });
    codeItems.forEach(function (c) { c.button.classList.remove('active'); c.button.removeAttribute('aria-current'); });
  }

  function showEvidence(links, what) {
    var segs = links.map(function (id) { return segById.get(id); }).filter(Boolean);
    segs.sort(function (a, b) { return segOrder.get(a.id) - segOrder.get(b.id); });
    segs.forEach(function (seg) { segEls.get(seg.id).classList.add('evidence'); });
    if (segs.length) {
      segEls.get(segs[0].id).scrollIntoView({ block: 'center' });
      seek(segs[0].begin);
      stopAt = null;
      announce(what + ': ' + segs.length + ' evidence segment' + (segs.length > 1 ? 's' : '') + ', first at ' + clock(segs[0].begin));
    } else {
      announce(what + ': no evidence in the transcript');
    }
    return segs;
  }

  function activateSentence(s, focus) {
    clearHighlights();
    s.button.classList.add('active');
    s.button.setAttribute('aria-current', 'true');
    if (focus) s.button.focus();
    showEvidence(s.links, 'Sentence');
  }

  function activateCode(c) {
    clearHighlights();
    c.button.classList.add('active');
    c.button.setAttribute('aria-current', 'true');
    showEvidence(c.links, c.code);
  }

  function selectSegment(seg) {
    clearHighlights();
    var row = segEls.get(seg.id);
    row.classList.add('evidence', 'playing');
    var cited = row.querySelector('.cited');
    var citing = sentences.filter(function (s) { return s.links.indexOf(seg.id) >= 0; });
    var codes = codeItems.filter(function (c) { return c.links.indexOf(seg.id) >= 0; });
    cited.appendChild(el('span', { text: citing.length || codes.length ? 'Cited by:' : 'Not cited by the note' }));
    citing.forEach(function (s) {
      s.button.classList.add('cites');
      var b = el('button', { type: 'button', text: humanize(s.section) + ' ' + (s.index + 1) });
      b.addEventListener('click', function () { activateSentence(s, true); });
      cited.appendChild(b);
    });
    codes.forEach(function (c) {
      var b = el('button', { type: 'button', text: c.code });
      b.addEventListener('click', function () { activateCode(c); c.button.focus(); });
      cited.appendChild(b);
    });
    cited.hidden = false;
    announce(roleLabel(seg.role) + ' at ' + clock(seg.begin) + ', cited by ' + citing.length + ' sentence' + (citing.length === 1 ? '' : 's'));
    play(seg);
  }

  // ---- note ---------------------------------------------------------------------------------
  function markChanged() {
    if (status === 'ACCEPTED') {
      status = 'IN_REVIEW';
      acceptedAt = null;
      updateStatus('Changed after acceptance: accept again');
    } else {
      updateStatus();
    }
  }

  function updateStatus(extra) {
    var edited = sentences.filter(function (s) { return s.edited && !s.rejected; }).length;
    var rejected = sentences.filter(function (s) { return s.rejected; }).length;
    var text = status === 'ACCEPTED' ? 'Accepted ' + acceptedAt : (extra || 'In review');
    if (edited || rejected) text += ' · ' + edited + ' edited, ' + rejected + ' rejected';
    document.getElementById('review-status').textContent = text;
  }

  function renderSentenceText(s) {
    s.button.textContent = s.text;
    if (s.weak) {
      s.button.appendChild(el('span', { className: 'weak-badge', text: 'weak evidence ' + Math.round(s.support * 100) + '%' }));
    }
    if (s.edited) s.button.appendChild(el('span', { className: 'edited-badge', text: 'edited' }));
  }

  function startEdit(s) {
    var box = el('div', { className: 'edit-box' });
    var area = el('textarea', { 'aria-label': 'Edit sentence ' + (s.index + 1) + ' of ' + humanize(s.section) });
    area.value = s.text;
    var save = el('button', { type: 'button', text: 'Save' });
    var cancel = el('button', { type: 'button', text: 'Cancel' });
    box.appendChild(area);
    box.appendChild(el('div', { className: 'row-actions' }, save, cancel));
    s.button.hidden = true;
    s.actions.hidden = true;
    s.row.insertBefore(box, s.actions);
    area.focus();
    function close() { box.remove(); s.button.hidden = false; s.actions.hidden = false; s.button.focus(); }
    save.addEventListener('click', function () {
      var v = area.value.replace(/\s+/g, ' ').trim();
      if (v && v !== s.text) {
        s.text = v;
        s.edited = v !== s.original;
        renderSentenceText(s);
        markChanged();
      }
      close();
    });
    cancel.addEventListener('click', close);
  }

  function renderNote() {
    var root = document.getElementById('note');
    if (!data.sections.length) root.appendChild(el('p', { text: 'The note is empty.' }));
    data.sections.forEach(function (section, si) {
      var headingId = 'section-' + si;
      root.appendChild(el('h3', { id: headingId, text: humanize(section.name) }));
      var list = el('ol', { className: 'sentences', 'aria-labelledby': headingId });
      section.sentences.forEach(function (sent, i) {
        var s = {
          id: 's' + si + '-' + i, section: section.name, sectionIndex: si, index: i,
          text: sent.text, original: sent.text, links: sent.links, support: sent.support,
          weak: sent.weak, edited: false, rejected: false
        };
        s.button = el('button', { type: 'button', className: 'sent' + (s.weak ? ' weak' : ''), 'data-sentence-id': s.id });
        renderSentenceText(s);
        var edit = el('button', { type: 'button', text: 'Edit', 'aria-label': 'Edit ' + humanize(section.name) + ' sentence ' + (i + 1) });
        var reject = el('button', { type: 'button', text: 'Reject', 'aria-pressed': 'false', 'aria-label': 'Reject ' + humanize(section.name) + ' sentence ' + (i + 1) });
        s.actions = el('div', { className: 'row-actions' }, edit, reject);
        s.row = el('li', { className: 'sentence-row' }, s.button, s.actions);
        s.button.addEventListener('click', function () { activateSentence(s, false); });
        edit.addEventListener('click', function () { startEdit(s); });
        reject.addEventListener('click', function () {
          s.rejected = !s.rejected;
          s.row.classList.toggle('rejected', s.rejected);
          reject.textContent = s.rejected ? 'Restore' : 'Reject';
          reject.setAttribute('aria-pressed', String(s.rejected));
          markChanged();
        });
        list.appendChild(s.row);
        sentences.push(s);
      });
      root.appendChild(list);
    });
  }

  function renderCodes() {
    var root = document.getElementById('codes');
    if (!data.codes.length) root.appendChild(el('li', { text: 'No code suggestions.' }));
    data.codes.forEach(function (code) {
      var c = { code: code.code, links: code.links };
      c.button = el('button', { type: 'button', className: 'code', 'data-code': code.code },
        el('strong', { text: code.code + ' ' }),
        document.createTextNode(code.description + ' '),
        el('span', { className: 'score', text: '(' + code.term + ', score ' + code.score.toFixed(2) + ')' }));
      c.button.addEventListener('click', function () { activateCode(c); });
      root.appendChild(el('li', null, c.button));
      codeItems.push(c);
    });
  }

  // ---- keyboard -----------------------------------------------------------------------------
  document.addEventListener('keydown', function (ev) {
    var t = ev.target;
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (t && (t.tagName === 'TEXTAREA' || t.tagName === 'INPUT' || t.tagName === 'AUDIO')) return;
    var onSentence = t && t.classList && t.classList.contains('sent');
    var next = ev.key === 'j' || (onSentence && ev.key === 'ArrowDown');
    var prev = ev.key === 'k' || (onSentence && ev.key === 'ArrowUp');
    if (!next && !prev) return;
    var visible = sentences.filter(function (s) { return !s.button.hidden; });
    if (!visible.length) return;
    var cur = visible.findIndex(function (s) { return s.button === document.activeElement || s.button.classList.contains('active'); });
    var to = cur < 0 ? 0 : Math.max(0, Math.min(visible.length - 1, cur + (next ? 1 : -1)));
    ev.preventDefault();
    activateSentence(visible[to], true);
  });

  // ---- sign-off and export ------------------------------------------------------------------
  function exportReview() {
    var sections = [];
    var rejected = [];
    data.sections.forEach(function (section, si) {
      var summary = [];
      sentences.filter(function (s) { return s.sectionIndex === si; }).forEach(function (s) {
        var links = s.links.map(function (id) { return { SegmentId: id }; });
        if (s.rejected) {
          rejected.push({ SectionName: s.section, SummarizedSegment: s.original, EvidenceLinks: links });
          return;
        }
        var out = { SummarizedSegment: s.text, EvidenceLinks: links };
        if (s.edited) { out.Edited = true; out.OriginalSegment = s.original; }
        summary.push(out);
      });
      if (summary.length) sections.push({ SectionName: section.name, Summary: summary });
    });
    return {
      ClinicalDocumentation: { Sections: sections },
      Review: {
        JobName: data.job,
        Status: status,
        ReviewedAt: acceptedAt || new Date().toISOString(),
        Rejected: rejected
      }
    };
  }

  document.getElementById('accept-note').addEventListener('click', function () {
    status = 'ACCEPTED';
    acceptedAt = new Date().toISOString();
    updateStatus();
    announce('Note accepted. Export the reviewed JSON and import it with veriscribe review --import.');
  });
  document.getElementById('export-note').addEventListener('click', function () {
    var blob = new Blob([JSON.stringify(exportReview(), null, 2) + '\n'], { type: 'application/json' });
    var url = URL.createObjectURL(blob);
    var a = el('a', { href: url, download: data.job + '.reviewed.json' });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    announce('Reviewed note exported as ' + data.job + '.reviewed.json');
  });

  renderTranscript();
  renderNote();
  renderCodes();
  updateStatus(data.reviewed ? 'Showing the reviewed note (' + data.reviewed + ')' : 'Draft, not reviewed');

  // For tests and scripting: read-only views plus the export.
  window.veriscribeReview = {
    sentences: function () {
      return sentences.map(function (s) {
        return { id: s.id, section: s.section, text: s.text, links: s.links.slice(), weak: s.weak, support: s.support };
      });
    },
    segmentBegin: function (id) { var s = segById.get(id); return s ? s.begin : null; },
    exportReview: exportReview
  };
}());
