pub(crate) mod bench;
pub(crate) mod control;
pub(crate) mod plot;
pub(crate) mod proxy;
pub(crate) mod sim;
pub(crate) mod ss;
pub(crate) mod up;
