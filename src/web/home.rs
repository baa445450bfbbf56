// The home page: where each role starts its shift.

use askama::Template;

use super::{CurrentUser, Page};
use crate::error::AppError;

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Page,
    name: String,
    mine: Vec<super::work::MyCase>,
    waiting: i64,
}

pub async fn home(
    state: actix_web::web::Data<crate::app::AppState>,
    page: Page,
    user: CurrentUser,
) -> Result<actix_web::HttpResponse, AppError> {
    let id = user.user.id;
    let (mine, waiting) = super::db(&state, move |conn| super::work::my_cases(conn, id)).await?;
    page.render(&Home {
        name: user.user.name.clone(),
        mine,
        waiting,
        page: page.clone(),
    })
}
