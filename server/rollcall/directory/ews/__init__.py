"""Exchange over EWS: settings (`settings`), the adapter (`client`), credentials and trust
(`auth`), failures as the port's errors (`errors`), reading answers (`parse`) and the
organisation-wide seam bootstrap builds (`organisation`). Importing this package loads no
exchangelib: `client` does, on first use."""
