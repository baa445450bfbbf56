// Static files, built into the binary and served under names that carry a hash of
// their content, so browsers may cache them for a year and still see every change.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::error::AppError;

struct Asset {
    hashed_name: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
];

fn assets() -> &'static HashMap<&'static str, Asset> {
    static ASSETS: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, content_type, bytes)| {
                let hash = hex::encode(&Sha256::digest(bytes)[..6]);
                let hashed_name = match name.rsplit_once('.') {
                    Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
                    None => format!("{name}.{hash}"),
                };
                (
                    *name,
                    Asset {
                        hashed_name,
                        content_type,
                        bytes,
                    },
                )
            })
            .collect()
    })
}

/// The address of a static file by its plain name, e.g. `app.css`.
pub fn url(name: &str) -> String {
    match assets().get(name) {
        Some(a) => format!("/static/{}", a.hashed_name),
        None => format!("/static/{name}"),
    }
}

pub async fn serve(file: web::Path<String>) -> Result<HttpResponse, AppError> {
    let file = file.into_inner();
    let asset = assets()
        .values()
        .find(|a| a.hashed_name == file)
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(asset.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_a_content_hash() {
        let u = url("app.css");
        assert!(u.starts_with("/static/app.") && u.ends_with(".css"), "{u}");
        assert_eq!(u.len(), "/static/app..css".len() + 12);
    }
}
