"""HL7 v2 adapters: IHE PCD-01 vital signs from bedside monitors, ACKs back."""
