import CloudCredentials

/// How an Azure blob store proves who it is.
public enum AzureBlobCredential: Sendable {
    /// The account's access key: Shared Key requests and service SASs.
    case sharedKey(AzureSharedKey)
    /// Entra ID tokens for `azureStorageResource`: bearer requests and user delegation SASs (the
    /// identity needs a data role such as Storage Blob Data Contributor, which includes
    /// generating user delegation keys).
    case tokens(any AccessTokenSource)
}
