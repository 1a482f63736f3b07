//! gRPC services every Omnibus process serves besides its own.

use omnibus_proto::FILE_DESCRIPTOR_SET;
use tonic::service::RoutesBuilder;

/// Adds server reflection (both `grpc.reflection.v1` and `v1alpha`, so every
/// client version works) and `grpc.health.v1.Health` to `routes`.
pub fn add_reflection_and_health(routes: &mut RoutesBuilder) {
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the embedded descriptor set is valid");
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .expect("the embedded descriptor set is valid");
    let (_reporter, health) = tonic_health::server::health_reporter();
    routes
        .add_service(v1)
        .add_service(v1alpha)
        .add_service(health);
}
