//! Tests of the step records and summaries: writing, reading back, resuming, summarizing.

use super::*;

fn rec(step: usize, loss: f64) -> StepRecord {
    StepRecord {
        step,
        loss: finite(loss),
        lr: Some(0.1),
        ..StepRecord::default()
    }
}

#[test]
fn summary_uses_the_mean_of_the_last_five_losses() {
    let records: Vec<StepRecord> = (1..=8).map(|s| rec(s, 10.0 - s as f64)).collect();
    let s = summarize(&records, 8, None);
    assert_eq!(s.last5_mean_loss, Some((6.0 + 5.0 + 4.0 + 3.0 + 2.0) / 5.0));
    assert_eq!(s.best_loss, Some(2.0));
    assert_eq!(s.best_loss_step, Some(8));
    assert_eq!(s.status, "completed");
}

#[test]
fn diverged_runs_have_no_selection_loss() {
    let mut records: Vec<StepRecord> = (1..=3).map(|s| rec(s, 1.0)).collect();
    records.push(rec(4, f64::NAN));
    let d = Divergence {
        step: 4,
        reason: "loss is not finite".into(),
    };
    let s = summarize(&records, 10, Some(&d));
    assert!(s.diverged);
    assert_eq!(s.diverged_at_step, Some(4));
    assert_eq!(s.last5_mean_loss, None);
    let line = serde_json::to_string(&records[3]).unwrap();
    assert!(line.contains("\"loss\":null"), "{line}");
}

#[test]
fn a_torn_last_line_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.jsonl");
    let mut w = MetricsWriter::create(&p).unwrap();
    w.write(&rec(1, 1.0)).unwrap();
    w.write(&rec(2, 0.5)).unwrap();
    drop(w);
    let mut text = std::fs::read_to_string(&p).unwrap();
    text.push_str("{\"step\":3,\"lo");
    std::fs::write(&p, text).unwrap();
    assert_eq!(read_metrics(&p).unwrap().len(), 2);
    let kept = records_for_resume(&p, 1).unwrap();
    assert_eq!(kept.records.len(), 1);
    assert_eq!(kept.dropped_lines, 2);
    MetricsWriter::resume(&p, &kept.lines).unwrap();
    assert_eq!(read_metrics(&p).unwrap().len(), 1);
}

fn lines_of(steps: &[usize]) -> Vec<String> {
    steps
        .iter()
        .map(|s| serde_json::to_string(&rec(*s, 1.0)).unwrap())
        .collect()
}

/// Writes `lines` (newline-terminated) and returns the error of resuming at `last_step`,
/// checking that the file was left as it was.
fn resume_error(lines: &[String], last_step: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("metrics.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&p, &text).unwrap();
    let e = records_for_resume(&p, last_step).unwrap_err();
    assert!(
        e.chain().any(|c| c.downcast_ref::<UserError>().is_some()),
        "an input error: {e:#}"
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), text, "file untouched");
    let msg = format!("{e:#}");
    assert!(msg.contains("metrics.jsonl"), "names the file: {msg}");
    msg
}

#[test]
fn a_bad_line_before_the_checkpoint_is_an_error_naming_it() {
    // The case: one garbage line among the records up to the checkpoint used to
    // drop every valid record after it.
    let mut lines = lines_of(&(1..=20).collect::<Vec<_>>());
    lines[4] = "garbage".into();
    let msg = resume_error(&lines, 20);
    assert!(
        msg.contains("line 5") && msg.contains("steps 5-20"),
        "{msg}"
    );
}

#[test]
fn missing_repeated_and_truncated_records_are_errors() {
    // Step 5 deleted.
    let mut steps: Vec<usize> = (1..=10).collect();
    steps.remove(4);
    let msg = resume_error(&lines_of(&steps), 10);
    assert!(msg.contains("line 5") && msg.contains("step 5 "), "{msg}");
    // Step 3 twice (two runs interleaved).
    let msg = resume_error(&lines_of(&[1, 2, 3, 3, 4]), 4);
    assert!(msg.contains("line 4") && msg.contains("repeats"), "{msg}");
    // The file ends before the checkpoint.
    let msg = resume_error(&lines_of(&[1, 2, 3]), 6);
    assert!(msg.contains("steps 4-6") && msg.contains("line 3"), "{msg}");
    // An empty file, and no file at all.
    let msg = resume_error(&[], 2);
    assert!(msg.contains("steps 1-2"), "{msg}");
    let dir = tempfile::tempdir().unwrap();
    let e = records_for_resume(&dir.path().join("metrics.jsonl"), 2).unwrap_err();
    assert!(format!("{e:#}").contains("missing"), "{e:#}");
}

#[test]
fn a_torn_line_before_the_checkpoint_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("metrics.jsonl");
    let mut text: String = lines_of(&[1, 2]).iter().map(|l| format!("{l}\n")).collect();
    text.push_str("{\"step\":3,\"lo");
    std::fs::write(&p, &text).unwrap();
    let msg = format!("{:#}", records_for_resume(&p, 3).unwrap_err());
    assert!(msg.contains("line 3") && msg.contains("cut short"), "{msg}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
}

#[test]
fn lines_past_the_checkpoint_are_counted_as_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("metrics.jsonl");
    let mut lines = lines_of(&[1, 2, 3, 4]);
    lines.push("not json".into());
    std::fs::write(&p, lines.join("\n")).unwrap();
    let r = records_for_resume(&p, 2).unwrap();
    assert_eq!(r.records.iter().map(|r| r.step).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(r.dropped_lines, 3);
}

#[test]
fn reading_a_file_with_a_bad_line_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("metrics.jsonl");
    let mut lines = lines_of(&[1, 2, 3]);
    lines[1] = "{oops".into();
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let msg = format!("{:#}", read_metrics(&p).unwrap_err());
    assert!(msg.contains("line 2"), "{msg}");
}
