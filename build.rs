//! Relinks when the startup order changes: scripts/build-static hands the linker
//! scripts/startup.order, which cargo does not otherwise know of.

fn main() {
    let order = "scripts/startup.order";
    if std::path::Path::new(order).exists() {
        println!("cargo:rerun-if-changed={order}");
    } else {
        println!("cargo:rerun-if-changed=build.rs");
    }
}
