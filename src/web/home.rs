// The home page: where each role starts its shift. An agent's home is their queue
// (the workspace lists, "My cases" first); supervisors and admins get their start page.

use actix_web::web;
use askama::Template;

use super::{CurrentUser, Page, queues};
use crate::domain::Role;
use crate::error::AppError;

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Page,
    name: String,
}

pub async fn home(
    state: web::Data<crate::app::AppState>,
    page: Page,
    user: CurrentUser,
    q: web::Query<queues::ListQuery>,
) -> Result<actix_web::HttpResponse, AppError> {
    if user.role == Role::Agent {
        let greeting = page.tf("home.greeting", &[("name", &user.user.name)]);
        return queues::render(state, page, user, q.into_inner(), "/", Some(greeting)).await;
    }
    page.render(&Home {
        name: user.user.name.clone(),
        page: page.clone(),
    })
}
