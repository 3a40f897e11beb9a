//! The `communication` kind: Slack, Discord, the console, webhooks.

use crate::model::chat::{
    Channel, ChannelRef, DirectMessage, FileUpload, Message, NewChannel, OutgoingMessage,
    UploadedFile, User, UserRef,
};

super::plugin_kind! {
    /// A team chat.
    kind Communication, trait Communication {
        /// Posts a message to a channel, or in a thread.
        write fn send_message(OutgoingMessage) -> Message;
        /// Sends a direct message to a user.
        write fn send_direct_message(DirectMessage) -> Message;
        /// Creates a channel.
        write fn create_channel(NewChannel) -> Channel;
        /// Describes a channel.
        read fn get_channel_info(ChannelRef) -> Channel;
        /// Describes a user.
        read fn get_user_info(UserRef) -> User;
        /// Shares a file in a channel.
        write fn upload_file(FileUpload) -> UploadedFile;
    }
}
