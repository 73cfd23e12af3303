//! What every plot shares: the embedded font, the colours, axis ranges and tick labels.

use std::sync::Once;

use plotters::prelude::*;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();
/// The font family every plot uses (the embedded DejaVu Sans).
pub const FAMILY: &str = "sans-serif";

/// Registers the embedded font under [`FAMILY`] (once).
pub fn register_font() {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

pub const BLUE: RGBColor = RGBColor(31, 119, 180);
pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
pub const RED: RGBColor = RGBColor(214, 39, 40);
pub const GREY: RGBColor = RGBColor(90, 90, 90);

/// Colours for comparison plots, in order (matplotlib's tab10).
pub const PALETTE: [RGBColor; 8] = [
    BLUE,
    ORANGE,
    GREEN,
    RED,
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Draws the series labels of `chart` as every plot does: upper right, on a translucent box.
pub fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FAMILY, 15))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
}

/// Axis ranges for data spanning `x` and `y`: an empty x range widened by ±0.5, the y range
/// padded by 5% (or by max(0.5, 5% of |y|) when it is a single value).
pub fn padded_ranges((x0, x1): (f64, f64), (y0, y1): (f64, f64)) -> ((f64, f64), (f64, f64)) {
    let x = if x1 <= x0 {
        (x0 - 0.5, x1 + 0.5)
    } else {
        (x0, x1)
    };
    let pad = if y1 > y0 {
        0.05 * (y1 - y0)
    } else {
        0.5_f64.max(0.05 * y0.abs())
    };
    (x, (y0 - pad, y1 + pad))
}

/// A tick label: `0`, scientific outside [1e-3, 1e4), else 0 to 3 decimals by magnitude.
pub fn format_number(y: f64) -> String {
    let a = y.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{y:.1e}")
    } else if a >= 100.0 {
        format!("{y:.0}")
    } else if a >= 1.0 {
        format!("{y:.2}")
    } else {
        format!("{y:.3}")
    }
}
