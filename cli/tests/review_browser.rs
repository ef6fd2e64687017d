//! `veriscribe review`: the evidence review page and the reviewed-note import, end to end.
//!
//! The page checks run in a real browser: Debian's headless Chromium (`/usr/bin/chromium`, or
//! `VERISCRIBE_CHROMIUM`), driven by `tests/browser/review_page.mjs` (playwright-core and
//! axe-core from `npm ci` in `tests/browser`). Without them the browser test is skipped, unless
//! `VERISCRIBE_TEST_BROWSER=1` (set by `scripts/test.sh`), where it fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

mod common;
use common::{repo_root, Sandbox};

impl Sandbox {
    fn fails(&self, args: &[&str]) -> String {
        let out = self.veriscribe(args);
        assert!(!out.status.success(), "veriscribe {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Runs a text dialogue into `out/NAME` and returns that directory.
    fn job(&self, name: &str, dialogue: &str, extra: &[&str]) -> PathBuf {
        let input = self.path(&format!("{name}.txt"));
        std::fs::write(&input, dialogue).expect("write dialogue");
        let out = self.path(&format!("out/{name}"));
        let mut args = vec![
            "run",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--job-name",
            name,
            "--quiet",
        ];
        args.extend_from_slice(extra);
        self.ok(&args);
        out
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

/// A silent 8 kHz 8-bit mono WAV one second longer than the job's last segment, so the
/// page's `currentTime` can move to every segment.
fn silent_wav_for(job_dir: &Path, path: &Path) {
    let transcript = read_json(&job_dir.join("transcript.json"));
    let end = transcript["Conversation"]["TranscriptSegments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["EndAudioTime"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let rate = 8000u32;
    let samples = ((end + 1.0) * rate as f64) as u32;
    let mut wav = Vec::with_capacity(44 + samples as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes()); // byte rate
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&samples.to_le_bytes());
    wav.resize(44 + samples as usize, 0x80);
    std::fs::write(path, wav).expect("write wav");
}

const INJECTION: &str = "[doctor] Hello, I'm Doctor Quinn. What brings you in today?\n\
[patient] My \"chest\" hurts & I typed </script><script>window.__pwned=1</script> into the <b>portal</b>, it's 'odd'.\n\
[doctor] Any fever or cough?\n\
[patient] No fever. I have had a cough for three days.\n\
[doctor] I think this is acute bronchitis. I will order a chest x-ray.\n";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[test]
fn review_page_is_private_self_contained_and_escaped() {
    let sb = Sandbox::new();
    let dir = sb.job("inject-1", INJECTION, &[]);
    let out = sb.ok(&["review", dir.to_str().unwrap()]);
    assert!(out.contains("review.html"), "{out}");
    let page_path = dir.join("review.html");
    assert_eq!(mode(&page_path), 0o600, "the page holds patient data");
    let page = std::fs::read_to_string(&page_path).unwrap();
    // Only the page's own two script elements close; the transcript's text is escaped.
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(!page.contains("<script>window.__pwned"));
    assert!(!page.contains("portal</b>"));
    assert!(page.contains("\\u003cscript\\u003ewindow.__pwned=1\\u003c/script\\u003e"));
    // Nothing is fetched: no URL to another origin, no CDN.
    for needle in ["http://", "https://", "src=\"//", "@import", "url("] {
        let allowed = page.matches(needle).count();
        assert_eq!(allowed, 0, "page references {needle}");
    }
    // No recording (a text dialogue): the page says how to add one.
    assert!(page.contains("--audio FILE"));

    // --out elsewhere, with a recording: embedded as a data: URI.
    let wav = sb.path("silence.wav");
    silent_wav_for(&dir, &wav);
    let custom = sb.path("page.html");
    sb.ok(&[
        "review",
        dir.to_str().unwrap(),
        "--audio",
        wav.to_str().unwrap(),
        "--out",
        custom.to_str().unwrap(),
    ]);
    assert_eq!(mode(&custom), 0o600);
    assert!(std::fs::read_to_string(&custom)
        .unwrap()
        .contains("src=\"data:audio/wav;base64,UklGR"));

    // A note copied into another job's folder does not open there.
    let other = sb.job("other-1", INJECTION, &[]);
    std::fs::copy(
        dir.join("summary.json.encrypted"),
        other.join("summary.json.encrypted"),
    )
    .unwrap();
    let err = sb.fails(&["review", other.to_str().unwrap()]);
    assert!(err.contains("cannot decrypt"), "{err}");
}

#[test]
fn reviewed_note_is_imported_encrypted_and_rendered() {
    let sb = Sandbox::new();
    let visit = std::fs::read_to_string(repo_root().join("samples/visit.txt")).unwrap();
    let dir = sb.job("visit-1", &visit, &[]);
    let draft: Value = serde_json::from_str(&sb.ok(&[
        "decrypt",
        dir.join("summary.json.encrypted").to_str().unwrap(),
    ]))
    .unwrap();
    let sections = draft["ClinicalDocumentation"]["Sections"]
        .as_array()
        .unwrap();
    // Edit the first sentence, reject the second (as the page exports them).
    let mut kept = Vec::new();
    let mut rejected = Vec::new();
    let mut n = 0;
    for section in sections {
        let mut summary = Vec::new();
        for s in section["Summary"].as_array().unwrap() {
            match n {
                0 => summary.push(json!({
                    "SummarizedSegment": "Cough and shortness of breath for two weeks.",
                    "EvidenceLinks": s["EvidenceLinks"],
                    "Edited": true,
                    "OriginalSegment": s["SummarizedSegment"],
                })),
                1 => rejected.push(json!({
                    "SectionName": section["SectionName"],
                    "SummarizedSegment": s["SummarizedSegment"],
                    "EvidenceLinks": s["EvidenceLinks"],
                })),
                _ => summary.push(s.clone()),
            }
            n += 1;
        }
        if !summary.is_empty() {
            kept.push(json!({"SectionName": section["SectionName"], "Summary": summary}));
        }
    }
    let reviewed = json!({
        "ClinicalDocumentation": {"Sections": kept},
        "Review": {"JobName": "visit-1", "Status": "ACCEPTED",
                   "ReviewedAt": "2026-12-07T20:00:00Z", "Rejected": rejected},
    });
    let before = sb.ok(&["render", dir.to_str().unwrap()]);
    assert!(before.starts_with("CHIEF COMPLAINT"), "{before}");

    // Wrong job, or a link to a segment the transcript lacks: refused, nothing stored.
    let file = sb.path("reviewed.json");
    let mut wrong = reviewed.clone();
    wrong["Review"]["JobName"] = json!("someone-else");
    std::fs::write(&file, wrong.to_string()).unwrap();
    let err = sb.fails(&[
        "review",
        "--import",
        file.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert!(err.contains("someone-else"), "{err}");
    let mut dangling = reviewed.clone();
    dangling["ClinicalDocumentation"]["Sections"][0]["Summary"][0]["EvidenceLinks"] =
        json!([{"SegmentId": "not-a-segment"}]);
    std::fs::write(&file, dangling.to_string()).unwrap();
    let err = sb.fails(&[
        "review",
        "--import",
        file.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert!(err.contains("evidence"), "{err}");
    assert!(!dir.join("summary.reviewed.json.encrypted").exists());

    std::fs::write(&file, reviewed.to_string()).unwrap();
    let out = sb.ok(&[
        "review",
        "--import",
        file.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert!(out.contains("1 edited, 1 rejected"), "{out}");
    let stored = dir.join("summary.reviewed.json.encrypted");
    assert_eq!(mode(&stored), 0o600);
    let bytes = std::fs::read(&stored).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("shortness of breath"));
    // Its context names the reviewed artifact: it does not open as the draft.
    let err = sb.fails(&["decrypt", stored.to_str().unwrap()]);
    assert!(err.contains("cannot decrypt"), "{err}");

    let after = sb.ok(&["render", dir.to_str().unwrap()]);
    let first = after.lines().next().unwrap();
    assert!(
        first.starts_with("REVIEWED NOTE (accepted 2026-12-07T20:00:00Z; 1 edited, 1 rejected"),
        "{after}"
    );
    assert!(after.contains("Cough and shortness of breath for two weeks."));
    let rejected_text = reviewed["Review"]["Rejected"][0]["SummarizedSegment"]
        .as_str()
        .unwrap();
    assert!(!after.contains(rejected_text), "{after}");
    assert!(after.contains("SUGGESTED ICD-10-CM CODES"));
}

/// Where the browser tooling is, or why it is missing.
fn browser_tools() -> Result<(PathBuf, PathBuf), String> {
    let chromium = std::env::var_os("VERISCRIBE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        return Err(format!(
            "{} not found (apt-get install chromium; scripts/setup.sh does)",
            chromium.display()
        ));
    }
    let dir = repo_root().join("tests/browser");
    if !dir.join("node_modules/playwright-core").is_dir()
        || !dir.join("node_modules/axe-core").is_dir()
    {
        return Err("tests/browser/node_modules missing (run `npm ci` in tests/browser; scripts/test.sh does)".into());
    }
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => Ok((chromium, dir)),
        _ => Err("node not found (apt-get install nodejs npm)".into()),
    }
}

#[test]
fn every_note_sentence_highlights_its_evidence_in_chromium() {
    let (chromium, browser_dir) = match browser_tools() {
        Ok(tools) => tools,
        Err(why) => {
            if std::env::var("VERISCRIBE_TEST_BROWSER").as_deref() == Ok("1") {
                panic!("VERISCRIBE_TEST_BROWSER=1 but the browser test cannot run: {why}");
            }
            eprintln!("skipping the browser test: {why}");
            return;
        }
    };
    let sb = Sandbox::new();
    let mut pages = Vec::new();
    let mut review = |dir: &Path, page: &str| {
        let wav = sb.path(&format!("{page}.wav"));
        silent_wav_for(dir, &wav);
        let out = sb.path(&format!("pages/{page}.html"));
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        sb.ok(&[
            "review",
            dir.to_str().unwrap(),
            "--audio",
            wav.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        pages.push(out);
    };
    // The sample visit first (its page is screenshotted and signed off), in H&P.
    let visit = std::fs::read_to_string(repo_root().join("samples/visit.txt")).unwrap();
    let dir = sb.job("visit-hp", &visit, &[]);
    review(&dir, "review");
    // Another template and a custom one.
    let dir = sb.job("visit-soap", &visit, &["--template", "PHYSICAL_SOAP"]);
    review(&dir, "visit-physical-soap");
    let custom = sb.path("custom.yaml");
    std::fs::write(
        &custom,
        "base_template: HISTORY_AND_PHYSICAL\nsections:\n  - header: Chief complaint\n    instruction: Why the patient came in\n  - header: Medications\n    instruction: What the patient takes\n  - header: Plan\n    instruction: What the clinician will do next\n",
    )
    .unwrap();
    let dir = sb.job(
        "visit-custom",
        &visit,
        &["--custom-template", custom.to_str().unwrap()],
    );
    review(&dir, "visit-custom");
    // Text that tries to break out of the page.
    let dir = sb.job("inject", INJECTION, &[]);
    review(&dir, "inject");
    // All 20 ACI-Bench dev visits, H&P; the first 3 also in BIRP.
    // The team's dev data sits beside the repository (not in it); `VERISCRIBE_DEV_DATA` names
    // another folder. Without it only the sample visits are checked.
    let dev_path = std::env::var_os("VERISCRIBE_DEV_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data"))
        .join("aci_bench_dev.jsonl");
    let dev = std::fs::read_to_string(&dev_path).unwrap_or_else(|_| {
        eprintln!(
            "{} not found: checking the sample visits only",
            dev_path.display()
        );
        String::new()
    });
    for (i, line) in dev.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let visit: Value = serde_json::from_str(line).unwrap();
        let id = visit["id"].as_str().unwrap().to_string();
        let text: String = visit["turns"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| {
                let words: Vec<&str> = t["text"].as_str().unwrap().split_whitespace().collect();
                (!words.is_empty())
                    .then(|| format!("[{}] {}\n", t["speaker"].as_str().unwrap(), words.join(" ")))
            })
            .collect();
        let dir = sb.job(&id, &text, &[]);
        review(&dir, &id);
        if i < 3 {
            let dir = sb.job(&format!("{id}-birp"), &text, &["--template", "BIRP"]);
            review(&dir, &format!("{id}-birp"));
        }
    }

    let shots = repo_root().join("target/review-screenshots");
    let out = Command::new("node")
        .current_dir(&browser_dir)
        .arg("review_page.mjs")
        .arg("--chromium")
        .arg(&chromium)
        .arg("--out")
        .arg(&shots)
        .arg("--signoff")
        .args(&pages)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "no report from the browser ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let pages_report = report["pages"].as_array().unwrap();
    let sum = |key: &str| -> u64 { pages_report.iter().map(|p| p[key].as_u64().unwrap()).sum() };
    let slowest = pages_report
        .iter()
        .map(|p| p["loadMs"].as_u64().unwrap())
        .max()
        .unwrap();
    eprintln!(
        "browser: {} pages, {} of {} note sentences checked, {} weak, {} codes, {} requests, {} console errors, {} serious axe violations, slowest load {slowest} ms; screenshots in {}",
        pages_report.len(),
        sum("checked"),
        sum("sentences"),
        sum("weak"),
        sum("codes"),
        sum("requests"),
        sum("consoleErrors"),
        sum("seriousViolations"),
        shots.display()
    );
    for p in pages_report {
        for f in p["failures"].as_array().unwrap() {
            eprintln!("{}: {}", p["file"], f);
        }
    }
    assert!(out.status.success(), "browser checks failed:\n{stdout}");
    assert_eq!(pages_report.len(), pages.len());
    assert!(sum("sentences") > if dev.is_empty() { 20 } else { 500 });
    assert_eq!(sum("checked"), sum("sentences"));
    assert_eq!(sum("requests"), 0);
    assert_eq!(sum("consoleErrors"), 0);
    assert_eq!(sum("seriousViolations"), 0);
    for p in pages_report {
        assert!(p["sentences"].as_u64().unwrap() > 0, "{p}");
    }

    // The page's own export imports, and render then prints the reviewed note.
    let exported = shots.join("reviewed.json");
    let visit_dir = sb.path("out/visit-hp");
    let out = sb.ok(&[
        "review",
        "--import",
        exported.to_str().unwrap(),
        visit_dir.to_str().unwrap(),
    ]);
    assert!(
        out.contains("ACCEPTED") && out.contains("1 edited, 1 rejected"),
        "{out}"
    );
    let text = sb.ok(&["render", visit_dir.to_str().unwrap()]);
    assert!(text.starts_with("REVIEWED NOTE (accepted "), "{text}");
    assert!(text.contains("Edited in review: "), "{text}");
}
