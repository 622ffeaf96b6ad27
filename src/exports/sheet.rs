//! One way to write a table out, two formats: every export builds its rows of typed cells
//! ([`Row`]) and hands them to a [`RowWriter`], which is CSV ([`Csv`]) or XLSX ([`Xlsx`]).
//!
//! Both stay in bounded memory whatever the number of rows: the CSV writer sends each batch to
//! the client as it is read; the XLSX writer keeps only the current row in memory
//! (rust_xlsxwriter's constant-memory mode writes the sheet's XML to a temporary file) and zips
//! the file straight into the response at the end.

use std::borrow::Cow;
use std::io::Write;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use hmac::{Hmac, Mac};
use rocket::tokio::sync::mpsc;
use rust_xlsxwriter::{Format as CellFormat, FormatAlign, Workbook, XlsxError};
use sha2::Sha256;

use crate::config::Config;
use crate::db::DbConn;
use crate::error::AppError;

/// One value of a row, typed: a number stays a number in a spreadsheet, a time a date.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Int(i64),
    /// A code or a value the server made (status, pseudonym, list of codes): written as is.
    Code(Cow<'a, str>),
    /// Text someone typed: quoted when needed and kept from being read as a formula (CSV).
    Text(Cow<'a, str>),
    /// A local date and time (already in the configured time zone).
    Time(NaiveDateTime),
    Date(NaiveDate),
    /// `oui`/`non` in CSV, a boolean cell in XLSX.
    Flag(bool),
}

/// The cells of one row, in the header's order.
#[derive(Default)]
pub struct Row<'a> {
    cells: Vec<Cell<'a>>,
}

impl<'a> Row<'a> {
    pub fn new() -> Row<'a> {
        Row {
            cells: Vec::with_capacity(24),
        }
    }

    pub fn cell(&mut self, cell: Cell<'a>) -> &mut Self {
        self.cells.push(cell);
        self
    }

    pub fn int(&mut self, value: impl Into<i64>) -> &mut Self {
        self.cell(Cell::Int(value.into()))
    }

    pub fn opt_int(&mut self, value: Option<impl Into<i64>>) -> &mut Self {
        self.cell(value.map_or(Cell::Empty, |v| Cell::Int(v.into())))
    }

    pub fn code(&mut self, value: impl Into<Cow<'a, str>>) -> &mut Self {
        self.cell(Cell::Code(value.into()))
    }

    pub fn opt_code(&mut self, value: Option<&'a str>) -> &mut Self {
        self.cell(value.map_or(Cell::Empty, |v| Cell::Code(v.into())))
    }

    /// A status or a kind as people read it (`prévu`, `tablette`), for the files meant for
    /// spreadsheets; the JSON API keeps the codes.
    pub fn label(&mut self, label: &'static str) -> &mut Self {
        self.cell(Cell::Code(label.into()))
    }

    /// The label of a code among `(code, label)` pairs; an unknown code as it is.
    pub fn label_of(&mut self, pairs: &[(&str, &'static str)], code: Option<&'a str>) -> &mut Self {
        match code {
            None => self.cell(Cell::Empty),
            Some(code) => {
                let cell = pairs
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map_or(Cell::Code(code.into()), |(_, l)| Cell::Code((*l).into()));
                self.cell(cell)
            }
        }
    }

    pub fn text(&mut self, value: impl Into<Cow<'a, str>>) -> &mut Self {
        self.cell(Cell::Text(value.into()))
    }

    pub fn opt_text(&mut self, value: Option<&'a str>) -> &mut Self {
        self.cell(value.map_or(Cell::Empty, |v| Cell::Text(v.into())))
    }

    pub fn time(&mut self, local: NaiveDateTime) -> &mut Self {
        self.cell(Cell::Time(local))
    }

    pub fn opt_date(&mut self, value: Option<NaiveDate>) -> &mut Self {
        self.cell(value.map_or(Cell::Empty, Cell::Date))
    }

    pub fn flag(&mut self, value: bool) -> &mut Self {
        self.cell(Cell::Flag(value))
    }

    pub fn cells(&self) -> &[Cell<'a>] {
        &self.cells
    }
}

/// Where an export's rows go.
pub trait RowWriter {
    fn header(&mut self, names: &[&str]) -> Result<(), AppError>;
    fn row(&mut self, row: &Row) -> Result<(), AppError>;
    /// Hands what was written so far to the client; false when the client went away.
    fn flush(&mut self) -> bool;
    /// Ends the file.
    fn finish(self: Box<Self>) -> Result<(), AppError>;
}

/// How rows are written: the CSV separator, pseudonyms, the local time zone.
#[derive(Clone)]
pub struct Format {
    pub separator: u8,
    pub pseudonymise: bool,
    key: Vec<u8>,
    pub tz: Tz,
}

impl Format {
    pub fn new(separator: u8, pseudonymise: bool, config: &Config) -> Format {
        Format {
            separator,
            pseudonymise,
            key: config.secret_key.clone(),
            tz: config.timezone,
        }
    }

    /// A person's id, or a keyed pseudonym (stable across files, not reversible without the
    /// server's secret key).
    pub fn person(&self, id: i32) -> Cell<'static> {
        if self.pseudonymise {
            Cell::Code(self.pseudonym(id).into())
        } else {
            Cell::Int(id.into())
        }
    }

    /// `P` and 12 hexadecimal digits of an HMAC of the id.
    pub fn pseudonym(&self, id: i32) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(format!("export-person:{id}").as_bytes());
        format!("P{}", &hex::encode(mac.finalize().into_bytes())[..12])
    }

    /// A stored (UTC) time in the configured time zone.
    pub fn local(&self, t: NaiveDateTime) -> NaiveDateTime {
        use chrono::TimeZone;
        self.tz.from_utc_datetime(&t).naive_local()
    }
}

/// Walks a table by id, batch after batch: `batch(conn, w, after)` loads the rows after that
/// id (in id order), writes them, and answers the last id read, or `None` when none is left.
/// Each batch goes to the client before the next is read; a client gone stops the walk.
pub fn walk(
    conn: &mut DbConn,
    w: &mut dyn RowWriter,
    mut batch: impl FnMut(&mut DbConn, &mut dyn RowWriter, i32) -> Result<Option<i32>, AppError>,
) -> Result<(), AppError> {
    let mut last = 0;
    while let Some(end) = batch(conn, w, last)? {
        last = end;
        if !w.flush() {
            return Ok(());
        }
    }
    Ok(())
}

/// CSV, RFC 4180 with CRLF line ends; `;` files start with a byte-order mark.
pub struct Csv {
    buf: Vec<u8>,
    sep: u8,
    tx: mpsc::Sender<Vec<u8>>,
}

impl Csv {
    pub fn new(sep: u8, tx: mpsc::Sender<Vec<u8>>) -> Csv {
        let mut buf = Vec::with_capacity(1 << 20);
        if sep == b';' {
            buf.extend_from_slice("\u{feff}".as_bytes());
        }
        Csv { buf, sep, tx }
    }

    /// `defuse`: text someone typed, kept from being read as a formula.
    fn text(&mut self, value: &str, defuse: bool) {
        let formula = defuse
            && value.starts_with(['=', '+', '-', '@', '\t', '\r'])
            && !is_phone_number(value)
            && !is_dash(value);
        let quote = formula
            || value
                .bytes()
                .any(|b| b == self.sep || b == b'"' || b == b'\n' || b == b'\r');
        if quote {
            self.buf.push(b'"');
            if formula {
                self.buf.push(b'\'');
            }
            for b in value.bytes() {
                if b == b'"' {
                    self.buf.push(b'"');
                }
                self.buf.push(b);
            }
            self.buf.push(b'"');
        } else {
            self.buf.extend_from_slice(value.as_bytes());
        }
    }

    fn cell(&mut self, cell: &Cell) {
        match cell {
            Cell::Empty => {}
            Cell::Int(n) => {
                self.buf
                    .extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
            }
            Cell::Code(s) => self.text(s, false),
            Cell::Text(s) => self.text(s, true),
            Cell::Time(t) => write_time(&mut self.buf, *t),
            Cell::Date(d) => write_date(&mut self.buf, *d),
            Cell::Flag(b) => self.buf.extend_from_slice(if *b { b"oui" } else { b"non" }),
        }
    }
}

impl RowWriter for Csv {
    fn header(&mut self, names: &[&str]) -> Result<(), AppError> {
        let mut row = Row::new();
        for n in names {
            row.text(*n);
        }
        self.row(&row)
    }

    fn row(&mut self, row: &Row) -> Result<(), AppError> {
        for (i, cell) in row.cells.iter().enumerate() {
            if i > 0 {
                self.buf.push(self.sep);
            }
            self.cell(cell);
        }
        self.buf.extend_from_slice(b"\r\n");
        Ok(())
    }

    fn flush(&mut self) -> bool {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(1 << 20));
        self.tx.blocking_send(chunk).is_ok()
    }

    fn finish(mut self: Box<Self>) -> Result<(), AppError> {
        self.flush();
        Ok(())
    }
}

/// `YYYY-MM-DD`, written digit by digit (chrono's `format` parses its pattern at every call:
/// a tenth of an export's time).
fn write_date(buf: &mut Vec<u8>, d: NaiveDate) {
    use chrono::Datelike;
    let year = d.year();
    if !(0..=9999).contains(&year) {
        let _ = write!(buf, "{d}");
        return;
    }
    let two = |n: u32| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
    let year = year as u32;
    buf.extend_from_slice(&two(year / 100));
    buf.extend_from_slice(&two(year % 100));
    buf.push(b'-');
    buf.extend_from_slice(&two(d.month()));
    buf.push(b'-');
    buf.extend_from_slice(&two(d.day()));
}

/// `YYYY-MM-DD HH:MM`, as [`write_date`].
fn write_time(buf: &mut Vec<u8>, t: NaiveDateTime) {
    use chrono::Timelike;
    let two = |n: u32| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
    write_date(buf, t.date());
    buf.push(b' ');
    buf.extend_from_slice(&two(t.hour()));
    buf.push(b':');
    buf.extend_from_slice(&two(t.minute()));
}

/// A dash standing for "none" (alone, or as the first line of a list): no formula.
fn is_dash(value: &str) -> bool {
    value == "-" || value.starts_with("-\n")
}

/// An E.164 phone number (`+33612345678`): a spreadsheet reads it as the number it is, so it
/// is written as is rather than defused like a formula.
fn is_phone_number(value: &str) -> bool {
    value.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Rows a worksheet holds (Excel's limit); the rows after it go on a second sheet, under the
/// same header.
const SHEET_ROWS: u32 = 1_048_576;
/// Characters a cell holds (Excel's limit).
const CELL_CHARS: usize = 32_767;

fn xlsx_error(e: XlsxError) -> AppError {
    AppError::Internal(format!("xlsx: {e}"))
}

/// XLSX: typed cells, the header row bold and frozen, columns sized to their content.
pub struct Xlsx {
    book: Workbook,
    name: &'static str,
    header: Vec<String>,
    sheets: usize,
    /// The next row to write on the current sheet.
    next: u32,
    /// Whether the current sheet's columns were sized (on its first data row).
    sized: bool,
    bold: CellFormat,
    time: CellFormat,
    date: CellFormat,
    wrap: CellFormat,
    tx: mpsc::Sender<Vec<u8>>,
}

impl Xlsx {
    /// `name`: the worksheet's name (31 characters at most).
    pub fn new(name: &'static str, tx: mpsc::Sender<Vec<u8>>) -> Result<Xlsx, AppError> {
        let mut xlsx = Xlsx {
            book: Workbook::new(),
            name,
            header: Vec::new(),
            sheets: 0,
            next: 0,
            sized: false,
            bold: CellFormat::new().set_bold(),
            time: CellFormat::new().set_num_format("yyyy-mm-dd hh:mm"),
            date: CellFormat::new().set_num_format("yyyy-mm-dd"),
            wrap: CellFormat::new()
                .set_text_wrap()
                .set_align(FormatAlign::Top),
            tx,
        };
        xlsx.add_sheet()?;
        Ok(xlsx)
    }

    fn add_sheet(&mut self) -> Result<(), AppError> {
        self.sheets += 1;
        let name = if self.sheets == 1 {
            self.name.to_string()
        } else {
            format!("{} ({})", self.name, self.sheets)
        };
        let sheet = self
            .book
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        sheet.set_name(name).map_err(xlsx_error)?;
        self.next = 0;
        self.sized = false;
        if !self.header.is_empty() {
            let header = std::mem::take(&mut self.header);
            let names: Vec<&str> = header.iter().map(String::as_str).collect();
            self.write_header(&names)?;
            self.header = header;
        }
        Ok(())
    }

    fn sheet(&mut self) -> Result<&mut rust_xlsxwriter::Worksheet, AppError> {
        self.book
            .worksheet_from_index(self.sheets - 1)
            .map_err(xlsx_error)
    }

    fn write_header(&mut self, names: &[&str]) -> Result<(), AppError> {
        let bold = self.bold.clone();
        let sheet = self.sheet()?;
        for (col, name) in names.iter().enumerate() {
            let col = col as u16;
            sheet
                .write_string_with_format(0, col, *name, &bold)
                .map_err(xlsx_error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        self.next = 1;
        Ok(())
    }

    /// Widths from the header and the first row's values.
    fn size_columns(&mut self, row: &Row) -> Result<(), AppError> {
        let widths: Vec<f64> = row
            .cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let header = self.header.get(i).map_or(8, |h| h.chars().count()) + 2;
                let content = match cell {
                    Cell::Time(_) => 17,
                    Cell::Date(_) => 11,
                    Cell::Int(n) => n.to_string().len() + 2,
                    Cell::Code(s) | Cell::Text(s) => s.chars().count().min(48) + 2,
                    Cell::Flag(_) => 6,
                    Cell::Empty => 10,
                };
                header.max(content).clamp(6, 50) as f64
            })
            .collect();
        let sheet = self.sheet()?;
        for (col, width) in widths.into_iter().enumerate() {
            sheet
                .set_column_width(col as u16, width)
                .map_err(xlsx_error)?;
        }
        self.sized = true;
        Ok(())
    }
}

impl RowWriter for Xlsx {
    fn header(&mut self, names: &[&str]) -> Result<(), AppError> {
        self.header = names.iter().map(|n| n.to_string()).collect();
        self.write_header(names)
    }

    fn row(&mut self, row: &Row) -> Result<(), AppError> {
        if self.next >= SHEET_ROWS {
            self.add_sheet()?;
        }
        if !self.sized {
            self.size_columns(row)?;
        }
        let r = self.next;
        let (time, date, wrap) = (self.time.clone(), self.date.clone(), self.wrap.clone());
        let sheet = self.sheet()?;
        for (col, cell) in row.cells.iter().enumerate() {
            let col = col as u16;
            match cell {
                Cell::Empty => continue,
                Cell::Int(n) => sheet.write_number(r, col, *n as f64),
                Cell::Code(s) | Cell::Text(s) => {
                    let s: &str = s;
                    let s = if s.len() > CELL_CHARS {
                        Cow::Owned(s.chars().take(CELL_CHARS).collect::<String>())
                    } else {
                        Cow::Borrowed(s)
                    };
                    if s.contains('\n') {
                        sheet.write_string_with_format(r, col, s, &wrap)
                    } else {
                        sheet.write_string(r, col, s)
                    }
                }
                Cell::Time(t) => sheet.write_datetime_with_format(r, col, t, &time),
                Cell::Date(d) => sheet.write_datetime_with_format(r, col, d, &date),
                Cell::Flag(b) => sheet.write_boolean(r, col, *b),
            }
            .map_err(xlsx_error)?;
        }
        self.next += 1;
        Ok(())
    }

    fn flush(&mut self) -> bool {
        // The file is zipped at the end; meanwhile only notice a client gone.
        !self.tx.is_closed()
    }

    fn finish(mut self: Box<Self>) -> Result<(), AppError> {
        let mut out = Chunks {
            buf: Vec::with_capacity(CHUNK),
            tx: self.tx.clone(),
        };
        self.book.save_to_writer(&mut out).map_err(xlsx_error)?;
        out.send()
            .map_err(|_| AppError::Internal("client gone".into()))
    }
}

const CHUNK: usize = 256 * 1024;

/// The zipped workbook, sent to the client in chunks as it is written.
struct Chunks {
    buf: Vec<u8>,
    tx: mpsc::Sender<Vec<u8>>,
}

impl Chunks {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl Write for Chunks {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_dates_are_written_as_chrono_formats_them() {
        let days = [
            NaiveDate::from_ymd_opt(2026, 1, 9).unwrap(),
            NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
            NaiveDate::from_ymd_opt(7, 3, 1).unwrap(),
            NaiveDate::from_ymd_opt(12345, 6, 7).unwrap(),
        ];
        for day in days {
            for (h, m) in [(0, 0), (9, 5), (23, 59)] {
                let t = day.and_hms_opt(h, m, 41).unwrap();
                let mut buf = Vec::new();
                write_time(&mut buf, t);
                assert_eq!(
                    String::from_utf8(buf).unwrap(),
                    t.format("%Y-%m-%d %H:%M").to_string()
                );
            }
            let mut buf = Vec::new();
            write_date(&mut buf, day);
            assert_eq!(String::from_utf8(buf).unwrap(), day.to_string());
        }
    }
}
