// Builds the server from the shared state: routes and middleware over a listener.
// Tests start the same thing on port 0.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware};

pub use crate::state::AppState;
pub use crate::state::anyhow_lite;
use crate::web;
use actix_web::web::Data;

/// A server bound to its listener, not yet running.
pub struct Application {
    pub server: Server,
    pub port: u16,
    pub state: AppState,
}

impl Application {
    /// Binds `listener` and builds the server over `state`. Run `server` to serve;
    /// its handle stops it gracefully (SIGTERM and SIGINT do the same).
    pub fn build(state: AppState, listener: TcpListener) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        let data = Data::new(state.clone());
        let workers = state.settings.workers;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .configure(web::routes)
                .default_service(actix_web::web::to(web::not_found))
                .wrap(actix_web::middleware::from_fn(web::mfa::require_enrolment))
                .wrap(actix_web::middleware::from_fn(
                    web::middleware::session_and_csrf,
                ))
                .wrap(actix_web::middleware::from_fn(web::middleware::error_pages))
                .wrap(middleware::Compress::default())
                .wrap(actix_web::middleware::from_fn(
                    web::middleware::security_headers,
                ))
                .wrap(actix_web::middleware::from_fn(web::middleware::observe))
        })
        .shutdown_timeout(20)
        // Idle connections stay open longer than a load balancer's usual idle
        // timeout (60 s), so the proxy, not the desk, closes them: a request is
        // never written into a connection the desk is closing.
        .keep_alive(std::time::Duration::from_secs(75))
        .listen(listener)?;
        if let Some(n) = workers {
            server = server.workers(n.max(1));
        }
        crate::jobs::spawn_audit_log(&state);
        Ok(Application {
            server: server.run(),
            port,
            state,
        })
    }
}
