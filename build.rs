// `embed_migrations!` reads migrations/ at compile time; without this, a migration folder
// added since the last build is not embedded by an incremental build (Diesel's advice).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
