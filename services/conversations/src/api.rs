//! gRPC adapters: thin translations between requests and the service.

mod channels;
mod contacts;
mod conversations;

pub use channels::ChannelApi;
pub use contacts::ContactApi;
pub use conversations::ConversationApi;
