//! Files a stand-in hands out for download, as its provider's file server
//! or CDN does: each download is counted (so tests see whether a cache
//! held), and a link can be made to expire (Instagram's CDN links do).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One hosted file.
#[derive(Debug, Clone)]
struct Hosted {
    bytes: Vec<u8>,
    mime_type: String,
    expired: bool,
    downloads: usize,
}

/// The files of one stand-in, by name.
#[derive(Debug, Default)]
pub struct Files {
    files: Mutex<HashMap<String, Hosted>>,
}

impl Files {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Hosted>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hosts `bytes` as `name`.
    pub fn put(&self, name: &str, bytes: impl Into<Vec<u8>>, mime_type: &str) {
        let hosted = Hosted {
            bytes: bytes.into(),
            mime_type: mime_type.to_owned(),
            expired: false,
            downloads: 0,
        };
        self.lock().insert(name.to_owned(), hosted);
    }

    /// From now on, downloads of `name` answer 403 as an expired link.
    pub fn expire(&self, name: &str) {
        if let Some(file) = self.lock().get_mut(name) {
            file.expired = true;
        }
    }

    /// How many times `name` was downloaded (expired answers included).
    pub fn downloads(&self, name: &str) -> usize {
        self.lock().get(name).map_or(0, |f| f.downloads)
    }

    /// The size and mime type of `name`, when hosted.
    pub fn describe(&self, name: &str) -> Option<(usize, String)> {
        self.lock()
            .get(name)
            .map(|f| (f.bytes.len(), f.mime_type.clone()))
    }

    /// Answers a download of `name`: the bytes with their `Content-Type`,
    /// 404 for an unknown file, 403 for an expired link.
    pub fn download(&self, name: &str) -> Response {
        let mut files = self.lock();
        let Some(file) = files.get_mut(name) else {
            return (StatusCode::NOT_FOUND, "Not Found").into_response();
        };
        file.downloads += 1;
        if file.expired {
            return (StatusCode::FORBIDDEN, "URL signature expired").into_response();
        }
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, file.mime_type.clone())],
            file.bytes.clone(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_counted_and_links_expire() {
        let files = Files::default();
        files.put("a.jpg", b"jpeg".to_vec(), "image/jpeg");
        assert_eq!(files.download("a.jpg").status(), StatusCode::OK);
        assert_eq!(files.download("nope").status(), StatusCode::NOT_FOUND);
        files.expire("a.jpg");
        assert_eq!(files.download("a.jpg").status(), StatusCode::FORBIDDEN);
        assert_eq!(files.downloads("a.jpg"), 2);
        assert_eq!(files.describe("a.jpg"), Some((4, "image/jpeg".into())));
    }
}
