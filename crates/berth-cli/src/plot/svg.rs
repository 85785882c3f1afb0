//! A small SVG writer: a string that elements are appended to, with
//! attribute values escaped and coordinates printed short (one decimal).
//! Everything the pictures need is inline (style, clip paths), so a file
//! stands alone.

use std::fmt::Write as _;

/// An SVG document being written.
pub(crate) struct Svg {
    out: String,
}

/// Escapes text for an attribute value or element content.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with one decimal, without a trailing `.0` (a tenth of a
/// pixel is below what anyone sees, and keeps big pictures small).
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let tenths = (v * 10.0).round();
    if tenths == 0.0 {
        // Also -0.0.
        return "0".into();
    }
    if tenths % 10.0 == 0.0 {
        format!("{}", tenths / 10.0)
    } else {
        format!("{:.1}", tenths / 10.0)
    }
}

/// Text anchoring for [`Svg::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Middle => "middle",
            Self::End => "end",
        }
    }
}

impl Svg {
    /// Starts a `width` × `height` document with a title (shown by viewers
    /// as a tooltip) and an inline style sheet.
    pub(crate) fn new(width: u32, height: u32, title: &str, style: &str) -> Self {
        let mut out = String::with_capacity(64 * 1024);
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
             <title>{}</title>\n<style>{}</style>\n\
             <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n",
            escape(title),
            style
        );
        Self { out }
    }

    /// Declares a clip rectangle named `id`.
    pub(crate) fn clip_rect(&mut self, id: &str, x: f64, y: f64, w: f64, h: f64) {
        let _ = writeln!(
            self.out,
            "<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>",
            escape(id),
            num(x),
            num(y),
            num(w),
            num(h)
        );
    }

    /// Opens a group with a class, clipped to `clip` if given.
    pub(crate) fn open_group(&mut self, class: &str, clip: Option<&str>) {
        let _ = write!(self.out, "<g class=\"{}\"", escape(class));
        if let Some(c) = clip {
            let _ = write!(self.out, " clip-path=\"url(#{})\"", escape(c));
        }
        self.out.push_str(">\n");
    }

    /// Closes the innermost group.
    pub(crate) fn close_group(&mut self) {
        self.out.push_str("</g>\n");
    }

    /// A path with a class, `d` already built (see [`PathData`]), and any
    /// extra attributes (`name`, value, escaped here).
    pub(crate) fn path(&mut self, class: &str, d: &str, extra: &[(&str, &str)]) {
        if d.is_empty() {
            return;
        }
        let _ = write!(self.out, "<path class=\"{}\" d=\"{d}\"", escape(class));
        for (k, v) in extra {
            let _ = write!(self.out, " {k}=\"{}\"", escape(v));
        }
        self.out.push_str("/>\n");
    }

    /// A straight line with a class.
    pub(crate) fn line(&mut self, class: &str, x1: f64, y1: f64, x2: f64, y2: f64) {
        let _ = writeln!(
            self.out,
            "<line class=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            escape(class),
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
    }

    /// A rectangle with a class.
    pub(crate) fn rect(&mut self, class: &str, x: f64, y: f64, w: f64, h: f64) {
        let _ = writeln!(
            self.out,
            "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
            escape(class),
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        );
    }

    /// Text at a point; `rotate` turns it by -90° about that point (for a
    /// vertical axis title).
    pub(crate) fn text(
        &mut self,
        class: &str,
        x: f64,
        y: f64,
        anchor: Anchor,
        rotate: bool,
        s: &str,
    ) {
        let _ = write!(
            self.out,
            "<text class=\"{}\" x=\"{}\" y=\"{}\" text-anchor=\"{}\"",
            escape(class),
            num(x),
            num(y),
            anchor.as_str()
        );
        if rotate {
            let _ = write!(self.out, " transform=\"rotate(-90 {} {})\"", num(x), num(y));
        }
        let _ = writeln!(self.out, ">{}</text>", escape(s));
    }

    /// Ends the document and gives its text.
    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

/// Builds the `d` attribute of a path with absolute moves and lines.
#[derive(Default)]
pub(crate) struct PathData {
    d: String,
}

impl PathData {
    /// Moves to a point.
    pub(crate) fn move_to(&mut self, x: f64, y: f64) {
        let _ = write!(self.d, "M{} {}", num(x), num(y));
    }

    /// Draws a line to a point.
    pub(crate) fn line_to(&mut self, x: f64, y: f64) {
        let _ = write!(self.d, "L{} {}", num(x), num(y));
    }

    /// Draws a horizontal line of length `dx` from the current point.
    pub(crate) fn h_rel(&mut self, dx: f64) {
        let _ = write!(self.d, "h{}", num(dx));
    }

    /// Draws a vertical line to `y`.
    pub(crate) fn v_to(&mut self, y: f64) {
        let _ = write!(self.d, "V{}", num(y));
    }

    /// The attribute text.
    pub(crate) fn as_str(&self) -> &str {
        &self.d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.25), "1.3");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(123.456), "123.5");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot; ");
        let mut svg = Svg::new(10, 10, "t<", "");
        svg.text("x", 1.0, 2.0, Anchor::Middle, true, "[::1]:80 → <x>");
        let doc = svg.finish();
        assert!(doc.contains("&lt;x&gt;"));
        assert!(doc.contains("rotate(-90 1 2)"));
        assert!(doc.ends_with("</svg>\n"));
    }
}
