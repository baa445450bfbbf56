// The home page: where each role starts its shift.

use askama::Template;

use super::{CurrentUser, Page};
use crate::error::AppError;

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Page,
    name: String,
}

pub async fn home(page: Page, user: CurrentUser) -> Result<actix_web::HttpResponse, AppError> {
    page.render(&Home {
        name: user.user.name.clone(),
        page: page.clone(),
    })
}
