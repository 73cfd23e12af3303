//! The outcome of a claim's check ([`Verdict`]) and its section of the report.

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every comparison agrees with the paper.
    Reproduced,
    /// Some do.
    Partly,
    /// None do.
    NotReproduced,
    /// The runs needed are missing.
    NotRun,
}

impl Verdict {
    /// The word in the report and in `claims.csv`.
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::Partly => "partly",
            Verdict::NotReproduced => "not reproduced",
            Verdict::NotRun => "not run",
        }
    }

    /// The verdict of `passed` agreeing comparisons out of `total`.
    pub fn of(passed: usize, total: usize) -> Self {
        match (passed, total) {
            (_, 0) => Verdict::NotRun,
            (p, t) if p == t => Verdict::Reproduced,
            (0, _) => Verdict::NotReproduced,
            _ => Verdict::Partly,
        }
    }
}

/// One claim's section of the report.
pub struct ClaimSection {
    /// `C1` … `C7`.
    pub id: &'static str,
    /// The claim.
    pub statement: &'static str,
    /// The verdict rule.
    pub rule: &'static str,
    pub verdict: Verdict,
    /// The headline figure.
    pub measured: String,
    /// Markdown table and notes.
    pub body: String,
}
