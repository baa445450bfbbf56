// The home page: where each role starts its shift. An agent's home is their queue
// (the workspace lists, "My cases" first); supervisors and admins get the live board.

use actix_web::web;

use super::access::Supervisor;
use super::{CurrentUser, Page, board, queues};
use crate::error::AppError;

pub async fn home(
    user: CurrentUser,
    state: web::Data<crate::state::AppState>,
    page: Page,
    q: web::Query<queues::ListQuery>,
) -> Result<actix_web::HttpResponse, AppError> {
    match Supervisor::of(user) {
        Ok(sup) => board::render(sup, state, page, true).await,
        Err(agent) => {
            let greeting = page.tf("home.greeting", &[("name", &agent.user.name)]);
            queues::render(state, page, *agent, q.into_inner(), "/", Some(greeting)).await
        }
    }
}
