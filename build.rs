// The migrations are embedded into the binary (`embed_migrations!` in src/db/mod.rs);
// a migration added or changed must rebuild it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
