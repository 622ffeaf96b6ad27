//! Gzip for pages, stylesheets, JSON and exports, when the client says it accepts it.
//!
//! The encoding is async-compression's streaming gzip: a streamed export is compressed as it is
//! written, never held whole in memory. Bodies whose size is known are compressed at the default
//! level (pages, stylesheets, JSON: a few kilobytes, best ratio); streams (exports) at the fastest
//! level, so that a million-row export stays limited by the database, not by the compressor.
//! Formats that are compressed already (XLSX, images, PDF) and bodies under a kilobyte are sent
//! as they are.
//!
//! Compressing a page that carries a secret next to text an attacker chose lets the attacker
//! guess the secret from the compressed sizes (BREACH). The only secret of our pages is the CSRF
//! token, and forms carry it masked with a new random pad each time (`auth::csrf::masked`).

use async_compression::tokio::bufread::GzipEncoder;
use async_compression::Level;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Header};
use rocket::tokio::io::BufReader;
use rocket::{Request, Response};

/// Bodies smaller than this are not worth a gzip header and a compressor's start.
const MIN_SIZE: usize = 1024;

pub struct Gzip;

/// Whether `Accept-Encoding` admits gzip: `gzip` (or `x-gzip`, or `*`) with a q-value above 0.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let q = parts
            .find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .map(|q| q.parse::<f32>().unwrap_or(0.0))
            .unwrap_or(1.0);
        q > 0.0
            && (coding.eq_ignore_ascii_case("gzip")
                || coding.eq_ignore_ascii_case("x-gzip")
                || coding == "*")
    })
}

/// Text formats: what gzip shrinks. Everything else (XLSX is a zip, images, PDF) is left alone.
fn compressible(content_type: &ContentType) -> bool {
    let top = content_type.top().as_str();
    let sub = content_type.sub().as_str();
    top.eq_ignore_ascii_case("text")
        || (top.eq_ignore_ascii_case("application")
            && (sub.eq_ignore_ascii_case("json")
                || sub.eq_ignore_ascii_case("problem+json")
                || sub.eq_ignore_ascii_case("javascript")
                || sub.eq_ignore_ascii_case("xml")))
        || (top.eq_ignore_ascii_case("image") && sub.eq_ignore_ascii_case("svg+xml"))
}

#[rocket::async_trait]
impl Fairing for Gzip {
    fn info(&self) -> Info {
        Info {
            name: "gzip",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if res.headers().contains("Content-Encoding") || req.method() == rocket::http::Method::Head
        {
            return;
        }
        match res.content_type() {
            Some(ct) if compressible(&ct) => {}
            _ => return,
        }
        // Caches must keep the two forms apart, whichever this client gets.
        res.adjoin_header(Header::new("Vary", "Accept-Encoding"));
        let accepted = req.headers().get("Accept-Encoding").any(accepts_gzip);
        if !accepted {
            return;
        }
        let size = res.body().preset_size();
        if size.is_some_and(|n| n < MIN_SIZE) {
            return;
        }
        let level = if size.is_some() {
            Level::Default
        } else {
            Level::Fastest
        };
        let body = res.body_mut().take();
        res.set_header(Header::new("Content-Encoding", "gzip"));
        res.set_streamed_body(GzipEncoder::with_quality(BufReader::new(body), level));
    }
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn accept_encoding_is_read_with_its_q_values() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("gzip, deflate, br, zstd"));
        assert!(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("br, deflate"));
        assert!(!accepts_gzip(""));
        assert!(!accepts_gzip("identity"));
    }
}
