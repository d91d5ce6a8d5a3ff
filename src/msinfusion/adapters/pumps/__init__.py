"""Smart-pump interoperability: IHE PIV PCD-03 orders out, IHE IPEC PCD-10 events in."""
