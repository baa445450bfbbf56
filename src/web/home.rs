// The home page: where each role starts its shift. An agent's home is their queue
// (the workspace lists, "My cases" first); supervisors and admins get the live board.

use actix_web::web;

use super::{CurrentUser, Page, board, queues};
use crate::domain::Role;
use crate::error::AppError;

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
    board::render(state, page, user).await
}
