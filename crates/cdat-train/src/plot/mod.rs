//! Every figure of the crate, rendered with plotters as PNG and SVG in the embedded DejaVu Sans
//! font. The callers say what to plot; this module draws it and knows no run, report or
//! simulation:
//!
//! - [`chart`]: charts of labelled series (the plots of a run in `run::plots`, the comparison
//!   plots of a suite in `experiments::report::plots`), one per file, or four on one page;
//! - [`stacked`]: a titled page of panels stacked vertically, each a curve and an optional
//!   dashed reference (the simulator's figures, `experiments::simulate`);
//! - [`style`]: font, colours, axis ranges and tick labels they share.

pub mod chart;
pub mod stacked;
pub mod style;
