/// The webhook events HighLevel documents (marketplace.gohighlevel.com/docs/category/webhook, read
/// 2026-12-06; `shared/highlevel/webhook-events.md`): what the simulator can send (`/sim/webhooks/send?type=`)
/// and what the gateway's catalog must know, each with the scope that entitles a client to it.
package enum HighLevelWebhookEvents {
    package static let all: [String] = [
        "AppInstall", "AppUninstall", "AppUpdate", "AppPaymentStatus", "PlanChange", "ExternalAuthConnected",
        "SupportTicketCreate", "SupportTicketUpdate", "SupportTicketDelete",
        "AppointmentCreate", "AppointmentUpdate", "AppointmentDelete",
        "AssociationCreate", "AssociationUpdate", "AssociationDelete", "ObjectSchemaCreate", "ObjectSchemaUpdate",
        "RecordCreate", "RecordUpdate", "RecordDelete", "RelationCreate", "RelationDelete",
        "CampaignStatusUpdate",
        "ContactCreate", "ContactUpdate", "ContactDelete", "ContactDndUpdate", "ContactTagUpdate",
        "NoteCreate", "NoteUpdate", "NoteDelete", "TaskCreate", "TaskComplete", "TaskDelete",
        "ConversationUnreadWebhook", "ConversationUpdate", "InboundMessage", "OutboundMessage", "ProviderOutboundMessage",
        "LCEmailStats", "VoiceAiCallEnd",
        "InvoiceCreate", "InvoiceUpdate", "InvoiceDelete", "InvoiceSent", "InvoicePaid", "InvoicePartiallyPaid", "InvoiceVoid",
        "KnowledgeBaseCreate", "KnowledgeBaseUpdate", "KnowledgeBaseDelete", "KnowledgeBaseFileChange", "KnowledgeBaseFaqChange",
        "KnowledgeBaseRichTextChange", "KnowledgeBaseTableFileChange", "KnowledgeBaseTrainedUrlChange",
        "LocationCreate", "LocationUpdate", "SaaSPlanCreate",
        "OpportunityCreate", "OpportunityUpdate", "OpportunityDelete", "OpportunityAssignedToUpdate",
        "OpportunityMonetaryValueUpdate", "OpportunityStageUpdate", "OpportunityStatusUpdate",
        "OrderCreate", "OrderStatusUpdate", "PriceCreate", "PriceUpdate", "PriceDelete", "ProductCreate", "ProductUpdate",
        "ProductDelete",
        "UserCreate", "UserUpdate", "UserDelete",
    ]
}
