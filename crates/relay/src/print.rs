//! Printable tickets: a minimal PDF writer (PDF 1.4) that lays out A4 pages of eight tickets,
//! each with its QR code drawn as vector rectangles, and hands the file out page by page.
//!
//! Hand-written because what is needed is small: the two standard fonts every PDF reader has
//! (Helvetica and Helvetica-Bold, WinAnsiEncoding: nothing embedded), filled rectangles, text,
//! and deflate-compressed page streams. Objects are numbered as they are written; the page
//! tree (object 2) is written last, so nothing but the page numbers and object offsets is
//! kept: memory is bounded by one page, whatever the number of tickets.
//!
//! Names outside what the standard fonts can show (WinAnsi is Latin-1 and a few more) are
//! transliterated (`deunicode`): "Đặng Thị Hồng" prints as "Dang Thi Hong", "王小明" as
//! "Wang Xiao Ming", instead of as empty boxes.

use std::fmt::Write;

use qrcode::Color;

/// A4 in points (1/72 inch).
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 28.0;
const COLUMNS: usize = 2;
const ROWS: usize = 4;
pub(crate) const PER_PAGE: usize = COLUMNS * ROWS;
/// The QR code's side, quiet zone included: about 4.8 cm, easy for any camera.
const QR_SIDE: f32 = 136.0;
/// Modules of white around the code, as the QR standard asks.
const QUIET: usize = 4;

/// Object numbers fixed in advance.
const CATALOG: usize = 1;
const PAGES: usize = 2;
const FONT_REGULAR: usize = 3;
const FONT_BOLD: usize = 4;

/// One ticket as printed.
#[derive(Debug, Clone)]
pub(crate) struct Card {
    pub event_name: String,
    pub ticket_id: u32,
    pub holder: String,
    pub ticket_type: String,
    /// The text of the QR code: the signed code, or the barcode of an opaque ticket.
    pub code: String,
}

/// A PDF being written. Bytes accumulate until [`TicketPdf::take`] hands them out.
pub(crate) struct TicketPdf {
    out: Vec<u8>,
    /// Bytes handed out so far, so offsets stay right across [`TicketPdf::take`].
    flushed: usize,
    /// Byte offset of each object, by number (index 0 unused).
    offsets: Vec<usize>,
    /// Object numbers of the pages, in order.
    pages: Vec<usize>,
    /// Tickets waiting for their page, with their QR symbols (made once, when added).
    pending: Vec<(Card, qrcode::QrCode)>,
}

impl std::fmt::Debug for TicketPdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketPdf")
            .field("pages", &self.pages.len())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl TicketPdf {
    pub fn new() -> TicketPdf {
        let mut pdf = TicketPdf {
            out: Vec::with_capacity(64 * 1024),
            flushed: 0,
            offsets: vec![0; FONT_BOLD + 1],
            pages: Vec::new(),
            pending: Vec::with_capacity(PER_PAGE),
        };
        // The binary comment tells transfer tools the file is not text.
        pdf.out.extend_from_slice(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
        pdf.object_at(CATALOG, b"<< /Type /Catalog /Pages 2 0 R >>");
        pdf.object_at(
            FONT_REGULAR,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        );
        pdf.object_at(
            FONT_BOLD,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        );
        pdf
    }

    /// Adds a ticket; a page is written each time eight are waiting.
    pub fn add(&mut self, card: Card) -> Result<(), qrcode::types::QrError> {
        // Made now, so a code too long for a QR symbol is refused with its ticket named.
        let symbol = gerbang_core::qr::symbol(&card.code).map_err(|e| match e {
            gerbang_core::qr::QrError::TooLong(e) => e,
            gerbang_core::qr::QrError::Png(_) => qrcode::types::QrError::DataTooLong,
        })?;
        self.pending.push((card, symbol));
        if self.pending.len() == PER_PAGE {
            self.page();
        }
        Ok(())
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        self.flushed += self.out.len();
        std::mem::take(&mut self.out)
    }

    /// Writes the last page, the page tree, the cross-reference table and the trailer, and
    /// returns the bytes not yet taken. `empty` is printed on a page of its own when there
    /// were no tickets (a PDF needs a page).
    pub fn finish(mut self, empty: &str) -> Vec<u8> {
        if !self.pending.is_empty() {
            self.page();
        }
        if self.pages.is_empty() {
            let mut content = String::new();
            text(
                &mut content,
                Font::Bold,
                14.0,
                MARGIN,
                PAGE_H - MARGIN - 14.0,
                empty,
            );
            self.page_with(content);
        }
        let kids: String = self.pages.iter().map(|p| format!("{p} 0 R ")).collect();
        let tree = format!(
            "<< /Type /Pages /Kids [{kids}] /Count {} >>",
            self.pages.len()
        );
        self.object_at(PAGES, tree.as_bytes());
        let xref = self.position();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", self.offsets.len());
        for offset in &self.offsets[1..] {
            let _ = writeln!(table, "{offset:010} 00000 n ");
        }
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root {CATALOG} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len()
        );
        self.out.extend_from_slice(table.as_bytes());
        self.out
    }

    fn position(&self) -> usize {
        self.flushed + self.out.len()
    }

    fn new_object(&mut self) -> usize {
        self.offsets.push(0);
        self.offsets.len() - 1
    }

    fn object_at(&mut self, id: usize, body: &[u8]) {
        self.offsets[id] = self.position();
        self.out
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(b"\nendobj\n");
    }

    /// Lays out the waiting tickets on one page.
    fn page(&mut self) {
        let cards = std::mem::take(&mut self.pending);
        let mut content = String::with_capacity(32 * 1024);
        let cell_w = (PAGE_W - 2.0 * MARGIN) / COLUMNS as f32;
        let cell_h = (PAGE_H - 2.0 * MARGIN) / ROWS as f32;
        for (i, (card, symbol)) in cards.iter().enumerate() {
            let x = MARGIN + (i % COLUMNS) as f32 * cell_w;
            let y = PAGE_H - MARGIN - (i / COLUMNS + 1) as f32 * cell_h;
            draw_card(&mut content, card, symbol, x, y, cell_w, cell_h);
        }
        self.page_with(content);
    }

    fn page_with(&mut self, content: String) {
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(content.as_bytes(), 6);
        let stream = self.new_object();
        self.offsets[stream] = self.position();
        self.out.extend_from_slice(
            format!(
                "{stream} 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
                compressed.len()
            )
            .as_bytes(),
        );
        self.out.extend_from_slice(&compressed);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
        let page = self.new_object();
        let body = format!(
            "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
             /Resources << /Font << /F1 {FONT_REGULAR} 0 R /F2 {FONT_BOLD} 0 R >> >> \
             /Contents {stream} 0 R >>"
        );
        self.object_at(page, body.as_bytes());
        self.pages.push(page);
    }
}

/// One ticket in its cell: a dashed cut line, the QR code on the left, the words on the right.
fn draw_card(
    out: &mut String,
    card: &Card,
    symbol: &qrcode::QrCode,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
) {
    let _ = writeln!(
        out,
        "q 0.6 G 0.5 w [4 3] 0 d {:.2} {:.2} {:.2} {:.2} re S Q",
        x + 2.0,
        y + 2.0,
        w - 4.0,
        h - 4.0
    );
    let qr_x = x + 8.0;
    let qr_y = y + (h - QR_SIDE) / 2.0;
    draw_qr(out, symbol, qr_x, qr_y);
    let left = qr_x + QR_SIDE + 6.0;
    let width = x + w - 10.0 - left;
    let mut top = y + h - 24.0;
    for line in wrap(&card.event_name, Font::Bold, 9.0, width, 2) {
        text(out, Font::Bold, 9.0, left, top, &line);
        top -= 11.0;
    }
    top -= 8.0;
    // The name is what people check: large, smaller only if it would not fit in three lines.
    let mut size = 14.0;
    let mut lines = wrap(&card.holder, Font::Bold, size, width, 3);
    while size > 7.0 && lines.iter().any(|l| Font::Bold.width(l, size) > width) {
        size -= 1.0;
        lines = wrap(&card.holder, Font::Bold, size, width, 3);
    }
    for line in lines {
        top -= size;
        text(out, Font::Bold, size, left, top, &line);
        top -= 2.0;
    }
    top -= 14.0;
    for line in wrap(&card.ticket_type, Font::Regular, 10.0, width, 2) {
        text(out, Font::Regular, 10.0, left, top, &line);
        top -= 12.0;
    }
    text(
        out,
        Font::Regular,
        10.0,
        left,
        top - 2.0,
        &format!("No. {}", card.ticket_id),
    );
}

/// Dark modules as filled rectangles, one per horizontal run, in a coordinate system of one
/// unit per module (`cm`), so the stream stays small.
fn draw_qr(out: &mut String, symbol: &qrcode::QrCode, x: f32, y: f32) {
    let n = symbol.width();
    let colors = symbol.to_colors();
    let module = QR_SIDE / (n + 2 * QUIET) as f32;
    let _ = writeln!(
        out,
        "q 0 g {module:.4} 0 0 {module:.4} {:.2} {:.2} cm",
        x + QUIET as f32 * module,
        y + QUIET as f32 * module
    );
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if colors[row * n + col] == Color::Dark {
                let start = col;
                while col < n && colors[row * n + col] == Color::Dark {
                    col += 1;
                }
                // Row 0 is the top of the symbol; PDF's y grows upwards.
                let _ = write!(out, "{start} {} {} 1 re ", n - 1 - row, col - start);
            } else {
                col += 1;
            }
        }
        out.push('\n');
    }
    out.push_str("f Q\n");
}

#[derive(Debug, Clone, Copy)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn name(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    /// Width of text in points, from the fonts' metrics (AFM), in thousandths of the size.
    fn width(self, text: &str, size: f32) -> f32 {
        let table = match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        };
        let units: u32 = encode(text)
            .iter()
            .map(|b| {
                let base = match b {
                    32..=126 => *b,
                    // Accented letters are about as wide as their base letter.
                    _ => deunicode::deunicode_char(char::from(*b))
                        .and_then(|s| s.bytes().next())
                        .filter(|c| (32..=126).contains(c))
                        .unwrap_or(b'n'),
                };
                u32::from(table[usize::from(base - 32)])
            })
            .sum();
        units as f32 * size / 1000.0
    }
}

/// Shows `text` at (x, y).
fn text(out: &mut String, font: Font, size: f32, x: f32, y: f32, text: &str) {
    let _ = write!(out, "BT /{} {size:.1} Tf {x:.2} {y:.2} Td (", font.name());
    for b in encode(text) {
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            32..=126 => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push_str(") Tj ET\n");
}

/// Breaks text into at most `max_lines` lines of at most `width` points, at spaces; a word
/// longer than a line is cut. What does not fit ends the last line with "...".
fn wrap(text: &str, font: Font, size: f32, width: f32, max_lines: usize) -> Vec<String> {
    let text = transliterate(text);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if font.width(&candidate, size) <= width || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    let overflow = lines.len() > max_lines;
    lines.truncate(max_lines);
    if let Some(last) = lines.last_mut() {
        if overflow || font.width(last, size) > width {
            while !last.is_empty() && font.width(&format!("{last}..."), size) > width {
                last.pop();
            }
            last.push_str("...");
        }
    }
    lines
}

/// Characters WinAnsiEncoding has, as themselves; everything else transliterated to ASCII.
fn transliterate(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push(' ');
        } else if winansi(c).is_some() {
            out.push(c);
        } else {
            match deunicode::deunicode_char(c) {
                Some(ascii) if !ascii.is_empty() => {
                    // A CJK syllable transliterates with a trailing space ("Wang "); trimmed
                    // here and put back between words by `split_whitespace` callers.
                    out.push_str(ascii);
                }
                _ => out.push('?'),
            }
        }
    }
    out
}

/// The WinAnsiEncoding byte of a character, if it has one.
fn winansi(c: char) -> Option<u8> {
    let code = u32::from(c);
    match code {
        0x20..=0x7e | 0xa0..=0xff => Some(code as u8),
        _ => WINANSI_EXTRA
            .iter()
            .find(|(ch, _)| *ch == c)
            .map(|(_, b)| *b),
    }
}

/// The 0x80-0x9F part of WinAnsiEncoding that names might use.
const WINANSI_EXTRA: [(char, u8); 15] = [
    ('€', 0x80),
    ('‚', 0x82),
    ('„', 0x84),
    ('…', 0x85),
    ('Š', 0x8a),
    ('Œ', 0x8c),
    ('Ž', 0x8e),
    ('‘', 0x91),
    ('’', 0x92),
    ('“', 0x93),
    ('”', 0x94),
    ('–', 0x96),
    ('—', 0x97),
    ('š', 0x9a),
    ('ž', 0x9e),
];

/// Text as WinAnsiEncoding bytes (after [`transliterate`]).
fn encode(text: &str) -> Vec<u8> {
    transliterate(text)
        .chars()
        .flat_map(|c| match winansi(c) {
            Some(b) => vec![b],
            // Only ASCII comes out of transliteration.
            None => vec![b'?'],
        })
        .collect()
}

/// Advance widths of ASCII 32 to 126 in Helvetica, from Adobe's AFM.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Advance widths of ASCII 32 to 126 in Helvetica-Bold, from Adobe's AFM.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_outside_winansi_are_transliterated() {
        let cases = [
            ("Siti Rahayu", "Siti Rahayu"),
            ("José Müller", "José Müller"),
            ("Đặng Thị Hồng", "Dang Thi Hong"),
            ("王小明", "Wang Xiao Ming"),
            ("Ирина", "Irina"),
        ];
        for (name, printed) in cases {
            let got = transliterate(name);
            assert_eq!(
                got.split_whitespace().collect::<Vec<_>>().join(" "),
                printed
            );
        }
        // Latin-1 letters are single WinAnsi bytes, written as octal escapes.
        let mut out = String::new();
        text(&mut out, Font::Regular, 10.0, 0.0, 0.0, "é (x)");
        assert_eq!(out, "BT /F1 10.0 Tf 0.00 0.00 Td (\\351 \\(x\\)) Tj ET\n");
    }

    #[test]
    fn long_names_wrap_and_are_cut_with_an_ellipsis() {
        let lines = wrap(
            "Raden Mas Muhammad Rizky Pratama Wijaya Kusuma Hadiningrat",
            Font::Bold,
            14.0,
            100.0,
            3,
        );
        assert_eq!(lines.len(), 3);
        assert!(lines[2].ends_with("..."), "{lines:?}");
        assert!(
            lines.iter().all(|l| Font::Bold.width(l, 14.0) <= 100.0),
            "{lines:?}"
        );
    }

    #[test]
    fn the_file_is_well_formed() {
        let mut pdf = TicketPdf::new();
        for ticket_id in 1..=9 {
            pdf.add(Card {
                event_name: "Seminar".into(),
                ticket_id,
                holder: format!("Peserta {ticket_id}"),
                ticket_type: "Reguler".into(),
                code: format!("CODE-{ticket_id}"),
            })
            .unwrap();
        }
        let mut bytes = pdf.take();
        bytes.extend(pdf.finish("none"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.contains("/Count 2"), "two pages for nine tickets");
        // startxref points at the xref table, and each object offset at its object.
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(bytes[start..].starts_with(b"xref"));
        let table = String::from_utf8(bytes[start..].to_vec()).unwrap();
        let offsets: Vec<usize> = table
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .map(|l| l[..10].parse().unwrap())
            .collect();
        assert_eq!(
            offsets.len(),
            4 + 2 * 2,
            "catalog, pages, 2 fonts, 2 x (stream, page)"
        );
        for (id, offset) in offsets.iter().enumerate() {
            let header = format!("{} 0 obj", id + 1);
            assert!(bytes[*offset..].starts_with(header.as_bytes()), "{header}");
        }
    }
}
