//! One CDAT step vs one base-optimizer step (placeholder; filled in below).
fn main() {}
