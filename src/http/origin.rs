//! Which URLs may be contacted, and whether two URLs share an origin.
//!
//! Pure functions over `url::Url`; knows nothing about sending requests.

use url::{Host, Url};

/// True for hosts that never leave the machine: 127.0.0.0/8, ::1 and `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d == "localhost."
        }
        None => false,
    }
}

/// Why a URL may not be contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Plain http to a host that is not loopback.
    Insecure,
    /// Not http or https at all.
    Scheme(String),
}

/// https always; plain http only to loopback unless `allow_insecure_http`.
pub(crate) fn check_url(url: &Url, allow_insecure_http: bool) -> Result<(), Refusal> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(url) => Ok(()),
        "http" => Err(Refusal::Insecure),
        other => Err(Refusal::Scheme(other.to_string())),
    }
}

/// Same scheme, host and port (default ports made explicit).
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    // Opaque origins (non-http schemes) never compare equal, which is what we want.
    a.origin() == b.origin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("test url")
    }

    #[test]
    fn loopback_hosts() {
        for ok in [
            "http://127.0.0.1:1/",
            "http://127.9.8.7/",
            "http://[::1]:80/",
            "http://localhost/",
            "http://LOCALHOST:9/",
            "http://localhost./",
        ] {
            assert!(is_loopback(&u(ok)), "{ok}");
        }
        for no in [
            "http://10.0.0.1/",
            "http://localhost.evil.com/",
            "http://[::2]/",
            "http://example.com/",
            "http://128.0.0.1/",
        ] {
            assert!(!is_loopback(&u(no)), "{no}");
        }
    }

    #[test]
    fn url_checks() {
        assert_eq!(check_url(&u("https://example.com/"), false), Ok(()));
        assert_eq!(check_url(&u("http://127.0.0.1:5/"), false), Ok(()));
        assert_eq!(
            check_url(&u("http://example.com/"), false),
            Err(Refusal::Insecure)
        );
        assert_eq!(check_url(&u("http://example.com/"), true), Ok(()));
        assert_eq!(
            check_url(&u("ftp://example.com/"), true),
            Err(Refusal::Scheme("ftp".to_string()))
        );
    }

    #[test]
    fn origins() {
        assert!(same_origin(
            &u("https://a.com/x"),
            &u("https://a.com:443/y?z")
        ));
        assert!(!same_origin(&u("https://a.com/"), &u("http://a.com/")));
        assert!(!same_origin(&u("https://a.com/"), &u("https://b.a.com/")));
        assert!(!same_origin(
            &u("http://127.0.0.1:1/"),
            &u("http://127.0.0.1:2/")
        ));
    }
}
