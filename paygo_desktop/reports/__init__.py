"""Reports over the local store: spending charts, the home dashboard's figures, a vendor's earnings."""
