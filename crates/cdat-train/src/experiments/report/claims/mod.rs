//! The paper's claims C1–C7, one file each: the claim, its verdict rule (fixed before looking
//! at any run and printed in the report) and the check that applies the rule to the runs.

pub mod c1;
pub mod c2;
pub mod c3;
pub mod c4;
pub mod c5;
pub mod c6;
pub mod c7;
pub mod verdict;

use std::path::Path;

use anyhow::Result;

use self::verdict::ClaimSection;
use crate::experiments::report::runs::Suites;

/// Checks every claim, in order: C1–C5 (with C3g, the along-the-gradient finding, after C3)
/// and C7 on the suites' runs, C6 on the simulations it runs into `dynamics` (`link`: the
/// results folder as linked from the report).
pub fn check_all(suites: &Suites, dynamics: &Path, link: &str) -> Result<Vec<ClaimSection>> {
    Ok(vec![
        c1::check(suites),
        c2::check(suites),
        c3::check(suites),
        c3::check_along_gradient(suites),
        c4::check(suites),
        c5::check(suites),
        c6::check(dynamics, link)?,
        c7::check(suites, link),
    ])
}
