mod hub;
mod krb;
